//go:build ignore

// mkblocklist turns a password list (one password a line, most common first)
// into blocklist.txt.gz: the distinct folded entries (NFKC, then lower case,
// as fold in normalize.go) that Check could otherwise accept, sorted
// bytewise, one a line, gzip-compressed. Entries shorter than MinLength code
// points or longer than MaxBytes are left out: Check refuses those by length
// before it looks at the list. Run it through mkblocklist.sh, which fetches
// the source from its npm package and checks its digest.
//
//	go run mkblocklist.go < source.txt > blocklist.txt.gz
package main

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Keep in step with MinLength and MaxBytes in rules.go; TestBlocklistEntries
// fails when an entry breaks either.
const (
	minLength = 8
	maxBytes  = 1024
)

func main() {
	if err := run(os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "mkblocklist:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out, log io.Writer) error {
	seen := make(map[string]struct{})
	var read, invalid int
	lines := bufio.NewScanner(in)
	lines.Buffer(make([]byte, 64*1024), 64*1024)
	for lines.Scan() {
		read++
		line := strings.TrimSuffix(lines.Text(), "\r")
		if !utf8.ValidString(line) {
			invalid++
			continue
		}
		entry := strings.ToLower(norm.NFKC.String(line))
		if utf8.RuneCountInString(entry) < minLength || len(entry) > maxBytes {
			continue
		}
		seen[entry] = struct{}{}
	}
	if err := lines.Err(); err != nil {
		return fmt.Errorf("read source: %w", err)
	}
	entries := make([]string, 0, len(seen))
	for e := range seen {
		entries = append(entries, e)
	}
	slices.Sort(entries)

	// No name and no modification time in the header, so that the same
	// input gives the same file.
	zw, err := gzip.NewWriterLevel(out, gzip.BestCompression)
	if err != nil {
		return fmt.Errorf("start gzip: %w", err)
	}
	w := bufio.NewWriter(zw)
	for _, e := range entries {
		w.WriteString(e)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write entries: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("finish gzip: %w", err)
	}
	fmt.Fprintf(log, "mkblocklist: %d lines read, %d not UTF-8, %d entries written\n", read, invalid, len(entries))
	return nil
}
