package sdk

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestPermanentKeepsTheCause(t *testing.T) {
	cause := errors.New("mailbox does not exist")
	err := Permanent(cause)
	if !errors.Is(err, ErrPermanent) || !errors.Is(err, cause) {
		t.Fatalf("Permanent(cause) = %v: want both ErrPermanent and the cause", err)
	}
	if err.Error() != cause.Error() {
		t.Errorf("message = %q, want %q", err, cause)
	}
	if Permanent(nil) != nil {
		t.Error("Permanent(nil) is not nil")
	}
}

func TestErrorsCrossTheBoundaryWithTheirClass(t *testing.T) {
	tests := []struct {
		name string
		err  error
		code codes.Code
	}{
		{"permanent", Permanent(errors.New("bad recipient")), codes.InvalidArgument},
		{"wrapped permanent", errors.Join(errors.New("ctx"), Permanent(errors.New("bad"))), codes.InvalidArgument},
		{"plain error is temporary", errors.New("smtp 421"), codes.Unavailable},
		{"deadline", context.DeadlineExceeded, codes.DeadlineExceeded},
		{"author's own status", status.Error(codes.ResourceExhausted, "quota"), codes.ResourceExhausted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := status.Convert(toStatus(tt.err))
			if st.Code() != tt.code {
				t.Errorf("code = %v, want %v", st.Code(), tt.code)
			}
			if !fromPlugin(st) {
				t.Error("status is not marked as coming from the plugin")
			}
			if st.Message() != tt.err.Error() {
				t.Errorf("message = %q, want %q", st.Message(), tt.err)
			}
		})
	}
}

func TestTransportErrorIsNotMarkedAsPlugin(t *testing.T) {
	if fromPlugin(status.New(codes.Unavailable, "error reading from server: EOF")) {
		t.Fatal("a bare transport status was taken for a plugin error")
	}
}

func TestRefusedCrossesAsPermanentAndRefused(t *testing.T) {
	cause := errors.New("email domain not allowed")
	err := Refused(cause)
	if !errors.Is(err, ErrRefused) || !errors.Is(err, ErrPermanent) || !errors.Is(err, cause) {
		t.Fatalf("Refused(cause) = %v: want ErrRefused, ErrPermanent and the cause", err)
	}
	if Refused(nil) != nil {
		t.Error("Refused(nil) is not nil")
	}
	st := status.Convert(toStatus(err))
	if st.Code() != codes.InvalidArgument || !refusedStatus(st) || !fromPlugin(st) {
		t.Fatalf("status = %v %q (refused %v): want INVALID_ARGUMENT with reason REFUSED", st.Code(), st.Message(), refusedStatus(st))
	}
	if refusedStatus(status.Convert(toStatus(Permanent(cause)))) {
		t.Error("a plain permanent error crossed as refused")
	}

	// On the host: a refusal is permanent and refused; a permanent error is
	// not refused.
	c := caller{kind: KindIdentity, doneCtx: context.Background()}
	got := c.call(context.Background(), "Exchange", func(context.Context) error { return toStatus(err) })
	if !errors.Is(got, ErrRefused) || !errors.Is(got, ErrPermanent) || got.Error() == "" {
		t.Fatalf("host error = %v, want refused and permanent", got)
	}
	got = c.call(context.Background(), "Exchange", func(context.Context) error { return toStatus(Permanent(cause)) })
	if errors.Is(got, ErrRefused) || !errors.Is(got, ErrPermanent) {
		t.Fatalf("host error = %v, want permanent only", got)
	}
}
