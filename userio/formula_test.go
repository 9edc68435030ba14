package userio

import (
	"testing"
)

func TestEscapeCell(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"text", "Ada Lovelace", "Ada Lovelace"},
		{"a formula sign inside", "a=b+c-d@e", "a=b+c-d@e"},
		{"digits", "00123", "00123"},
		{"blanks before text", "  spaced", "  spaced"},
		{"an apostrophe inside", "O'Brien", "O'Brien"},

		{"equals", "=1+1", "'=1+1"},
		{"plus", "+15555550100", "'+15555550100"},
		{"minus", "-2+3", "'-2+3"},
		{"at", "@SUM(1,1)", "'@SUM(1,1)"},
		{"a tab first", "\tx", "'\tx"},
		{"a carriage return first", "\rx", "'\rx"},
		{"a tab alone", "\t", "'\t"},
		{"an apostrophe first", "'Tis", "''Tis"},
		{"an escaped formula", "'=1+1", "''=1+1"},

		{"a space before equals", " =1+1", "' =1+1"},
		{"spaces before plus", "   +1", "'   +1"},
		{"a newline before minus", "\n-1", "'\n-1"},
		{"a tab before at", "\t@x", "'\t@x"},
		{"NUL before equals", "\x00=1", "'\x00=1"},
		{"DEL before equals", "\x7f=1", "'\x7f=1"},
		{"C1 NEL before equals", "\u0085=1", "'\u0085=1"},
		{"a no-break space before equals", "\u00a0=1", "'\u00a0=1"},
		{"an ideographic space before equals", "\u3000=1", "'\u3000=1"},
		{"a zero-width space before equals", "\u200b=1", "'\u200b=1"},
		{"a byte order mark before equals", "\ufeff=1", "'\ufeff=1"},
		{"a mix before equals", " \t\u00a0\x01=cmd", "' \t\u00a0\x01=cmd"},

		{"full-width equals", "＝1+1", "'＝1+1"},
		{"full-width plus", "＋1", "'＋1"},
		{"full-width minus", "－1", "'－1"},
		{"full-width at", "＠SUM(1)", "'＠SUM(1)"},
		{"a space before full-width equals", " ＝1", "' ＝1"},
		{"an ideographic space before full-width at", "\u3000＠x", "'\u3000＠x"},

		{"blanks before an apostrophe", " '=x", " '=x"},
		{"blanks only", "   ", "   "},
		{"a letter before equals", "x=1", "x=1"},
		{"another full-width sign", "％1", "％1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EscapeCell(tt.in)
			if got != tt.want {
				t.Errorf("EscapeCell(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if back := unescapeCell(got); back != tt.in {
				t.Errorf("unescapeCell(%q) = %q, want %q back", got, back, tt.in)
			}
		})
	}
}

func TestUnescapeCellKeepsApostrophesItDidNotAdd(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"an apostrophe before text", "'Tis", "'Tis"},
		{"an apostrophe alone", "'", "'"},
		{"an apostrophe before blanks", "'  ", "'  "},
		{"an apostrophe before digits", "'00123", "'00123"},
		{"an escaped formula", "'=1", "=1"},
		{"an escaped blank-led formula", "' =1", " =1"},
		{"an escaped full-width formula", "'＋1", "＋1"},
		{"an escaped apostrophe", "''Tis", "'Tis"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := unescapeCell(tt.in); got != tt.want {
				t.Errorf("unescapeCell(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzCellRoundTrip: whatever a cell holds, an export read back by the
// import is what was exported, and nothing exported starts a formula.
func FuzzCellRoundTrip(f *testing.F) {
	for _, seed := range []string{"", "=1", " =1", "'", "''=", "\t", "＝", "\u200b－", "\xff=", "'\xff"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		out := EscapeCell(v)
		if back := unescapeCell(out); back != v {
			t.Fatalf("unescapeCell(EscapeCell(%q)) = %q", v, back)
		}
		if needsEscape(out) && out[0] != '\'' {
			t.Fatalf("EscapeCell(%q) = %q still starts a formula", v, out)
		}
	})
}
