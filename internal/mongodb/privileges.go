package mongodb

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/bson"
)

// What the replica-set modes need, and which built-in roles grant it.
// Sources: MongoDB's role definitions, src/mongo/db/auth/
// role_graph_builtin_roles.cpp (addClusterMonitorPrivileges,
// addClusterManagerPrivileges, addReadOnlyDbPrivileges) up to 6.x and
// src/mongo/db/auth/builtin_roles.yml from 7.0, and the manual's
// "Built-In Roles" (clusterMonitor, "Changed in version 3.4"):
//   - clusterMonitor (a role of the admin database) grants the
//     replSetGetStatus action on the cluster, and read on the local
//     database (find and collStats on its collections: local.oplog.rs):
//     in the .cpp by addReadOnlyDbPrivileges(privileges, "local"), in
//     the .yml as the role read@local. Up to 3.2 the .cpp granted find
//     on local.system.replset and local.sources only; the manual dates
//     the change 3.4.
//   - clusterManager grants replSetGetStatus too, not read on local;
//     clusterAdmin holds clusterMonitor and clusterManager, root
//     clusterAdmin; read, readWrite and dbOwner on local grant find there.
//
// The driver connects to MongoDB 3.6 and later only (v1.17.10,
// x/mongo/driver/topology/fsm.go MinSupportedMongoDBVersion), and the
// supported range is 4.2 to 8.0: on every server the check talks to,
// clusterMonitor is enough, and a user who holds a role that grants the
// privilege and is refused has a server that grants less than the
// role's definition, which the hint then says instead of asking for the
// role again.

// privileges names, for a refused command, the privilege it needs and
// the built-in roles (role@db, as connectionStatus lists them) that
// grant it.
var privileges = map[string]struct {
	need      string
	grantedBy []string
}{
	"replSetGetStatus": {"the replSetGetStatus action on the cluster",
		[]string{"clusterMonitor@admin", "clusterManager@admin", "clusterAdmin@admin", "root@admin", "__system@admin"}},
	"find on local.oplog.rs": {"find on local.oplog.rs",
		[]string{"clusterMonitor@admin", "clusterAdmin@admin", "root@admin", "__system@admin", "read@local", "readWrite@local", "dbOwner@local"}},
}

// privilegeHint tells the authenticated user what to do about a command
// the server refused: which privilege it needs and which role grants it,
// with the roles the user has (connectionStatus, which every user may
// run), so that a user who already holds such a role is not told to
// get it.
func (s *Session) privilegeHint(ctx context.Context, cmd string) string {
	p, ok := privileges[cmd]
	if !ok {
		p.need = cmd
	}
	roles, known := s.userRoles(ctx)
	for _, r := range roles {
		if slices.Contains(p.grantedBy, r) {
			return fmt.Sprintf("user %s has the role %s, which grants %s on every MongoDB version check_mongodb supports (4.2 to 8.0), so the server grants it less than that role's definition: look at what it grants with db.getUser(%q, {showPrivileges: true})", s.User, r, p.need, s.User)
		}
	}
	has := ""
	if known {
		has = " (it has " + orNone(roles) + ")"
	}
	hint := fmt.Sprintf("grant user %s%s the clusterMonitor role, which holds %s on every MongoDB version check_mongodb supports (4.2 to 8.0)", s.User, has, p.need)
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
