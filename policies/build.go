package policies

import (
	"slices"
	"time"

	"github.com/flexauth/flexauth/attempt"
)

// SignIn is a sign-in in plain terms, as its caller loaded it (package
// admission reads it from the store): what BuildInput makes a policy's
// Input of. The policy sees nothing that is not here.
type SignIn struct {
	AccountID string
	// EmailDelivery and EmailPasswordLogin are the account's switches.
	EmailDelivery      bool
	EmailPasswordLogin bool

	AuthID   string
	Assigned string // the method the user is assigned on the system
	User     SignInUser
	System   System
	Request  Request
	// NewIP is true when the request's address is known and no successful
	// sign-in of the user came from it.
	NewIP bool
	// Factors are the user's runs of failures, by factor, as judged at the
	// sign-in (Locked at that moment).
	Factors []FactorState
}

// SignInUser is what a policy learns about the user from flexauth's own
// records (the directory, if any, adds to the input afterwards).
type SignInUser struct {
	TOTPEnrolled bool
	HasEmail     bool
	HasPhone     bool
	// PasswordLogin is the user's own email and password switch; the
	// policy sees it anded with the account's.
	PasswordLogin bool
	HasPassword   bool
	LastIP        string
	LastLoginAt   *time.Time
	LoginCount    int
}

// FactorState is one factor's run of failures.
type FactorState struct {
	Factor   string
	Failures int
	Locked   bool
}

// BuildInput makes the policy input of a sign-in: what Begin asks the
// policy with (before its directory adds groups, attributes and contact
// data) and what the admin API's "what would the policy decide" shows.
// Subject.InDirectory is false and Groups and Attributes are empty.
func BuildInput(s SignIn) Input {
	factors, locked := map[string]Factor{}, []string{}
	for _, f := range s.Factors {
		factors[f.Factor] = Factor{Failures: f.Failures, Locked: f.Locked}
		if f.Locked {
			locked = append(locked, f.Factor)
		}
	}
	sys := s.System
	sys.Methods = slices.Clone(sys.Methods)
	req := s.Request
	req.Time = req.Time.UTC()
	return Input{
		Account: AccountOf(s.AccountID, s.EmailDelivery),
		Subject: Subject{
			Account: s.AccountID, AuthID: s.AuthID, Assigned: s.Assigned,
			TOTPEnrolled: s.User.TOTPEnrolled, HasEmail: s.User.HasEmail, HasPhone: s.User.HasPhone,
			PasswordLogin: s.EmailPasswordLogin && s.User.PasswordLogin, HasPassword: s.User.HasPassword,
			Groups: []string{}, Attributes: map[string]string{},
		},
		System:  sys,
		Request: req,
		History: History{
			RecentFailures: factors[attempt.MethodFactor(s.Assigned)].Failures,
			LastIP:         s.User.LastIP, LastLoginAt: s.User.LastLoginAt, LoginCount: s.User.LoginCount,
			NewIP: s.NewIP, Factors: factors, LockedFactors: locked,
		},
	}
}
