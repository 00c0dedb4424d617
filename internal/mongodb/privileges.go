package mongodb

import (
	"context"
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/bson"
)

// What the replica-set modes need, and which built-in role grants it, by
// server version. Sources: MongoDB's role definitions,
// src/mongo/db/auth/role_graph_builtin_roles.cpp (addClusterMonitorPrivileges)
// up to 6.x and builtin_roles.yml from 7.0, and the manual's "Built-In
// Roles" (clusterMonitor, "Changed in version 3.4").
//   - clusterMonitor (a role of the admin database) grants
//     replSetGetStatus and replSetGetConfig on the cluster, and from
//     MongoDB 3.4 on read on the local database (find and collStats on
//     its collections: local.oplog.rs), so it covers every command of
//     these modes. Up to 3.2 it granted find on local.system.replset and
//     local.sources only: reading the oplog needed read on local.
//   - clusterAdmin includes clusterMonitor, and root clusterAdmin.
//
// The driver connects to MongoDB 3.6 and later only (v1.17.10,
// x/mongo/driver/topology/fsm.go MinSupportedMongoDBVersion), and the
// supported range is 4.2 to 8.0: on every server the check talks to,
// clusterMonitor is enough, and a user who has it and is refused has a
// server that grants it less than its definition (a role of the same
// name elsewhere, an altered deployment), which the hint then says
// instead of asking for the role again.

// privileges names, for a refused command, the privilege it needs.
var privileges = map[string]string{
	"replSetGetStatus":       "the replSetGetStatus action on the cluster",
	"find on local.oplog.rs": "find on local.oplog.rs",
}

// monitorRoles are the built-in roles (of the admin database) that hold
// clusterMonitor's privileges.
var monitorRoles = map[string]bool{"clusterMonitor@admin": true, "clusterAdmin@admin": true, "root@admin": true, "__system@admin": true}

// privilegeHint tells the authenticated user what to do about a command
// the server refused: which privilege it needs and which role grants it,
// with the roles the user has (connectionStatus, which every user may
// run), so that a user who already holds clusterMonitor is not told to
// get it.
func (s *Session) privilegeHint(ctx context.Context, cmd string) string {
	need := privileges[cmd]
	if need == "" {
		need = cmd
	}
	roles, known := s.userRoles(ctx)
	for _, r := range roles {
		if monitorRoles[r] {
			return fmt.Sprintf("user %s has the role %s, which grants %s on MongoDB 3.4 and later (every version check_mongodb supports), so the server grants it less than that role's definition: look at what it grants with db.getUser(%q, {showPrivileges: true})", s.User, r, need, s.User)
		}
	}
	has := ""
	if known {
		has = " (it has " + orNone(roles) + ")"
	}
	hint := fmt.Sprintf("grant user %s%s the clusterMonitor role, which holds %s on MongoDB 3.4 and later (every version check_mongodb supports)", s.User, has, need)
	if cmd == "find on local.oplog.rs" {
		hint += ", or the read role on the local database"
	}
	return hint
}

// userRoles returns the roles of the authenticated user as role@db
// (connectionStatus, manual: authInfo.authenticatedUserRoles), and
// whether the server said.
func (s *Session) userRoles(ctx context.Context) ([]string, bool) {
	var st struct {
		AuthInfo struct {
			Roles []struct{ Role, DB string } `bson:"authenticatedUserRoles"`
		} `bson:"authInfo"`
	}
	if err := s.RunAdmin(ctx, bson.D{{Key: "connectionStatus", Value: 1}}, &st); err != nil {
		return nil, false
	}
	var out []string
	for _, r := range st.AuthInfo.Roles {
		out = append(out, r.Role+"@"+r.DB)
	}
	return out, true
}

func orNone(roles []string) string {
	if len(roles) == 0 {
		return "no role"
	}
	return "the roles " + strings.Join(roles, ", ")
}
