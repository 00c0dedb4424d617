package replset

import (
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
)

type rawConfig struct {
	Config struct {
		Members []struct {
			Host               string   `bson:"host"`
			ArbiterOnly        bool     `bson:"arbiterOnly"`
			Hidden             bool     `bson:"hidden"`
			Priority           *float64 `bson:"priority"`
			Votes              *float64 `bson:"votes"`
			SlaveDelay         *float64 `bson:"slaveDelay"`
			SecondaryDelaySecs *float64 `bson:"secondaryDelaySecs"`
		} `bson:"members"`
		Settings struct {
			ReplicaSetID primitive.ObjectID `bson:"replicaSetId"`
		} `bson:"settings"`
	} `bson:"config"`
}

// ApplyConfig merges a replSetGetConfig reply into the status: hidden,
// delay (secondaryDelaySecs, slaveDelay before 5.0), votes, priority and
// arbiterOnly per member, and the set's replicaSetId.
func (st *Status) ApplyConfig(raw bson.Raw) error {
	var rc rawConfig
	if err := bson.Unmarshal(raw, &rc); err != nil {
		return fmt.Errorf("decoding replSetGetConfig: %v", err)
	}
	if len(rc.Config.Members) == 0 {
		return &MissingError{Field: "replSetGetConfig.config.members"}
	}
	for _, cm := range rc.Config.Members {
		m := st.Member(cm.Host)
		if m == nil {
			continue
		}
		m.Configured = true
		m.Hidden = cm.Hidden
		m.Arbiter = m.Arbiter || cm.ArbiterOnly
		m.Delay = 0
		for _, d := range []*float64{cm.SecondaryDelaySecs, cm.SlaveDelay} {
			if d != nil {
				m.Delay = time.Duration(*d * float64(time.Second))
				break
			}
		}
		if cm.Votes != nil {
			m.Votes = int(*cm.Votes)
		}
		if cm.Priority != nil {
			m.Priority = *cm.Priority
		}
	}
	if !rc.Config.Settings.ReplicaSetID.IsZero() {
		st.ReplicaSetID = rc.Config.Settings.ReplicaSetID.Hex()
	}
	st.ConfigKnown = true
	return nil
}
