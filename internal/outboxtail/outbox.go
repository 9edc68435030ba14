// Package outboxtail follows the outbox file of `flexauth dev` (one JSON
// message a line, written by the outbox plugin) and finds the one-time
// code sent for an attempt, for the load tools in bench/. It reads the
// file only; it never writes or truncates it.
package outboxtail

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Outbox is the codes of the messages appended to the file since New.
type Outbox struct {
	path  string
	mu    sync.Mutex
	off   int64
	codes map[string]string // by attempt
}

// New follows the outbox at path; messages already in it, of earlier runs,
// are skipped.
func New(path string) *Outbox {
	o := &Outbox{path: path, codes: map[string]string{}}
	if fi, err := os.Stat(path); err == nil {
		o.off = fi.Size()
	}
	return o
}

// Code waits until ctx ends for the code sent for attempt.
func (o *Outbox) Code(ctx context.Context, attempt string) (string, error) {
	for {
		o.mu.Lock()
		err := o.read()
		code, ok := o.codes[attempt]
		if ok {
			delete(o.codes, attempt) // read once: the map stays small
		}
		o.mu.Unlock()
		if err != nil {
			return "", fmt.Errorf("read outbox: %w", err)
		}
		if ok {
			return code, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("wait for the code of %s: %w", attempt, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// read consumes whole new lines; the caller holds o.mu.
func (o *Outbox) read() error {
	f, err := os.Open(o.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Seek(o.off, io.SeekStart); err != nil {
		return err
	}
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return nil // a partial line waits for the next read
		}
		o.off += int64(len(line))
		var m struct{ Attempt, Code string }
		if json.Unmarshal(line, &m) == nil && m.Code != "" {
			o.codes[m.Attempt] = m.Code
		}
	}
}
