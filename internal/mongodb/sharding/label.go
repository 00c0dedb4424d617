package sharding

import "strings"

// Label joins parts into a perfdata label of the project's scheme
// (README, "Perfdata"): lowercase letters, digits, '_' and '-' only, the
// parts separated by '_', every other character written as '-'
// ("chunks", "app.users", "rs-a" gives chunks_app-users_rs-a). Namespaces,
// shard names and database names are the identities of what the label
// measures, so the same object keeps its label between runs.
//
// It stands in for the shared helper of issue 15 (plugin.Label) until
// that lands, and follows the same rules.
func Label(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		if p == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('_')
		}
		for _, r := range p {
			switch {
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-':
				b.WriteRune(r)
			case r >= 'A' && r <= 'Z':
				b.WriteRune(r + ('a' - 'A'))
			default:
				b.WriteByte('-')
			}
		}
	}
	return b.String()
}
