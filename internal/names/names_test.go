package names

import "testing"

func TestQualified(t *testing.T) {
	for _, tc := range []struct{ ns, name, want string }{
		{"team-a", "db", "team-a/db"},
		{"", "db", "db"},
		{"team-a", "", "team-a/"},
	} {
		if got := Qualified(tc.ns, tc.name); got != tc.want {
			t.Errorf("Qualified(%q, %q) = %q, want %q", tc.ns, tc.name, got, tc.want)
		}
	}
}
