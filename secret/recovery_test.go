package secret

import (
	"strings"
	"testing"
)

func TestRecoveryCodes(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		c, err := NewRecoveryCode()
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != 11 || c[5] != '-' || strings.ContainsAny(c, "01OI") {
			t.Fatalf("code %q is not XXXXX-XXXXX from the unambiguous alphabet", c)
		}
		n, ok := NormalizeRecoveryCode(strings.ToLower(c[:3]) + " " + c[3:])
		if !ok || n != strings.ReplaceAll(c, "-", "") {
			t.Fatalf("normalize(%q) = %q, %v", c, n, ok)
		}
		seen[c] = true
	}
	if len(seen) < 200 {
		t.Fatalf("only %d distinct codes in 200", len(seen))
	}
	for _, bad := range []string{"", "ABCDE-FGHJ", "ABCDE-FGHJKL", "ABCDE-FGH0K", "12345678"} {
		if _, ok := NormalizeRecoveryCode(bad); ok {
			t.Errorf("%q accepted as a recovery code", bad)
		}
	}
}
