package password

import (
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func TestBlocklistHoldsAtLeast100000Entries(t *testing.T) {
	l, err := blocklist()
	if err != nil {
		t.Fatalf("load blocklist: %v", err)
	}
	if l.len() < 100_000 {
		t.Fatalf("the blocklist holds %d entries, want at least 100,000", l.len())
	}
	t.Logf("the blocklist holds %d entries", l.len())
}

// TestBlocklistEntries checks what mkblocklist.go promises and contains
// relies on: sorted and distinct (binary search), folded as Check folds,
// and only entries Check would otherwise accept by length.
func TestBlocklistEntries(t *testing.T) {
	l, err := blocklist()
	if err != nil {
		t.Fatalf("load blocklist: %v", err)
	}
	for i := range l.len() {
		e := l.entry(i)
		if i > 0 && l.entry(i-1) >= e {
			t.Fatalf("entries %d and %d are out of order or repeated: %q, %q", i-1, i, l.entry(i-1), e)
		}
		if folded := fold(norm.NFKC.String(e)); folded != e {
			t.Fatalf("entry %d %q is not folded (%q)", i, e, folded)
		}
		if n := utf8.RuneCountInString(e); n < MinLength || len(e) > MaxBytes {
			t.Fatalf("entry %d %q has a length Check refuses anyway", i, e)
		}
	}
}

func TestBlocklistLookup(t *testing.T) {
	l, err := blocklist()
	if err != nil {
		t.Fatalf("load blocklist: %v", err)
	}
	for _, e := range []string{"12345678", "password", "iloveyou", "qwertyuiop", "password123", l.entry(0), l.entry(l.len() - 1)} {
		if !l.contains(e) {
			t.Errorf("%q is not found", e)
		}
	}
	for _, e := range []string{"", "Password", "password ", " password", "passwor", "my cat naps on warm laundry", "\xff\xff\xff\xff\xff\xff\xff\xff"} {
		if l.contains(e) {
			t.Errorf("%q is found", e)
		}
	}
}
