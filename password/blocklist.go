package password

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"sort"
	"sync"
)

//go:generate sh mkblocklist.sh

// blocklistGz is the generated list (see mkblocklist.go): folded entries,
// sorted bytewise, one a line, gzip-compressed.
//
//go:embed blocklist.txt.gz
var blocklistGz []byte

// list is the blocklist in memory: the decompressed text (about 4.7 MB)
// and where each entry starts, so that a lookup is a binary search without
// a string header per entry.
type list struct {
	text   string
	starts []uint32
}

// blocklist decompresses the embedded list on first use: programs that
// never check a password do not pay for it. The result never changes.
var blocklist = sync.OnceValues(func() (*list, error) {
	zr, err := gzip.NewReader(bytes.NewReader(blocklistGz))
	if err != nil {
		return nil, fmt.Errorf("open password blocklist: %w", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("read password blocklist: %w", err)
	}
	l := &list{text: string(raw)}
	for start := 0; start < len(raw); {
		end := bytes.IndexByte(raw[start:], '\n')
		if end < 0 {
			return nil, fmt.Errorf("read password blocklist: entry %d has no line end", len(l.starts))
		}
		l.starts = append(l.starts, uint32(start))
		start += end + 1
	}
	return l, nil
})

// len returns how many entries the list holds.
func (l *list) len() int { return len(l.starts) }

// entry returns the i-th entry in sorted order.
func (l *list) entry(i int) string {
	start := int(l.starts[i])
	end := len(l.text) - 1 // the last entry's line end
	if i+1 < len(l.starts) {
		end = int(l.starts[i+1]) - 1
	}
	return l.text[start:end]
}

// contains reports whether folded is on the list.
func (l *list) contains(folded string) bool {
	i := sort.Search(l.len(), func(i int) bool { return l.entry(i) >= folded })
	return i < l.len() && l.entry(i) == folded
}
