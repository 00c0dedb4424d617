package replset

import (
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/opschecks/opschecks/internal/mongodb/bsondoc"
)

type rawConfig struct {
	Config struct {
		Members []struct {
			Host               string   `bson:"host"`
			ArbiterOnly        bool     `bson:"arbiterOnly"`
			Hidden             bool     `bson:"hidden"`
			Votes              *float64 `bson:"votes"`
			SlaveDelay         *float64 `bson:"slaveDelay"`
			SecondaryDelaySecs *float64 `bson:"secondaryDelaySecs"`
		} `bson:"members"`
	} `bson:"config"`
}

// ApplyConfig merges a replSetGetConfig reply into the status: hidden,
// delay (secondaryDelaySecs, slaveDelay before 5.0), votes and
// arbiterOnly per member.
func (st *Status) ApplyConfig(raw bson.Raw) error {
	var rc rawConfig
	if err := bsondoc.Unmarshal(raw, &rc); err != nil {
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
	}
	st.ConfigKnown = true
	return nil
}
