package policies

import (
	"slices"
	"testing"
	"time"

	"github.com/flexauth/flexauth/attempt"
)

func TestBuildInputFromASignIn(t *testing.T) {
	at := time.Date(2026, 11, 23, 9, 30, 0, 0, time.FixedZone("CET", 3600))
	methods := []string{attempt.MethodPIN, attempt.MethodTOTP}
	in := BuildInput(SignIn{
		AccountID: "acc", EmailDelivery: false, EmailPasswordLogin: false,
		AuthID: "ada", Assigned: attempt.MethodPIN,
		User:    SignInUser{TOTPEnrolled: true, HasEmail: true, PasswordLogin: true, HasPassword: true, LoginCount: 3},
		System:  System{Name: "vpn", Methods: methods, Sensitivity: "high", TTLSeconds: 300},
		Request: Request{IP: "192.0.2.1", Time: at},
		NewIP:   true,
		Factors: []FactorState{{Factor: attempt.FactorPIN, Failures: 2}, {Factor: attempt.FactorTOTP, Failures: 5, Locked: true}},
	})
	switch {
	case in.Subject.Account != "acc" || in.Account.ID != "acc" || !in.Account.EmailDeliveryDisabled():
		t.Errorf("account: %+v, subject account %q", in.Account, in.Subject.Account)
	case in.Subject.PasswordLogin:
		t.Error("password login is on for the user although the account turned it off")
	case in.History.RecentFailures != 2:
		t.Errorf("recent failures = %d, want the assigned method's factor's 2", in.History.RecentFailures)
	case !slices.Equal(in.History.LockedFactors, []string{attempt.FactorTOTP}) || !in.History.Factors[attempt.FactorTOTP].Locked:
		t.Errorf("locked factors = %v, factors %v", in.History.LockedFactors, in.History.Factors)
	case !in.Request.Time.Equal(at) || in.Request.Time.Location() != time.UTC:
		t.Errorf("request time = %v, want %v in UTC", in.Request.Time, at)
	case in.Subject.Groups == nil || in.Subject.Attributes == nil || in.Subject.InDirectory:
		t.Errorf("directory fields = %v, %v, %v; want empty, not null", in.Subject.Groups, in.Subject.Attributes, in.Subject.InDirectory)
	}
	methods[0] = "changed"
	if in.System.Methods[0] != attempt.MethodPIN {
		t.Error("the input shares the caller's methods")
	}
}
