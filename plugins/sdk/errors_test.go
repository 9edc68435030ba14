package sdk

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/flexauth/flexauth/plugins/internal/wire"
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
			if _, ok := pluginReason(st); !ok {
				t.Error("status is not marked as coming from the plugin")
			}
			if st.Message() != tt.err.Error() {
				t.Errorf("message = %q, want %q", st.Message(), tt.err)
			}
		})
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
	if reason, _ := pluginReason(st); st.Code() != codes.InvalidArgument || reason != wire.ReasonRefused {
		t.Fatalf("status = %v %q (reason %q): want INVALID_ARGUMENT with reason REFUSED", st.Code(), st.Message(), reason)
	}
	if reason, _ := pluginReason(status.Convert(toStatus(Permanent(cause)))); reason != wire.ReasonPermanent {
		t.Errorf("a plain permanent error crossed with reason %q, want PERMANENT", reason)
	}
	// How the host reads these statuses is tested with it, in
	// plugins/internal/grpcclient.
}

// pluginReason returns the reason of the ErrorInfo that marks st as the
// plugin's own answer, and whether there is one.
func pluginReason(st *status.Status) (string, bool) {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == wire.ErrorDomain {
			return info.GetReason(), true
		}
	}
	return "", false
}
