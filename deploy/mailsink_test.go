package deploy_test

import (
	"context"
	"testing"
	"time"

	"github.com/flexauth/flexauth/internal/mailsink"
)

// mailSink stands in for Mailpit (see internal/mailsink).
type mailSink struct {
	*mailsink.Sink
}

func newMailSink(t *testing.T) *mailSink {
	t.Helper()
	s, err := mailsink.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &mailSink{s}
}

// wait waits up to timeout for the first message to rcpt.
func (s *mailSink) wait(rcpt string, timeout time.Duration) (mailsink.Message, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	m, err := s.Wait(ctx, rcpt, 0)
	return m, err == nil
}

// pin is the code in text, empty when there is none.
func pin(text string) string {
	code, _ := mailsink.PIN(text)
	return code
}
