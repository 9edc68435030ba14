package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/policies"
	"github.com/flexauth/flexauth/store"
)

// Admin API: what the account's active policy makes of a system's settings.
// A system asks for a validity ("ttl_seconds") and a sensitivity; the policy
// decides, per attempt, how long the link or code really lives, how many
// wrong codes it tolerates and where it is sent. The console shows those
// effective values, taken from the policy itself for a representative
// sign-in, rather than the value the system asks for (which the policy may
// cap) or values guessed in the page (which an uploaded policy would belie).

const (
	// effectiveTimeout bounds the evaluations of one answer: the systems
	// list evaluates every method of every system. What is not decided in
	// time answers an error in its place, not a failed list.
	effectiveTimeout = 3 * time.Second
	// effectiveAssumed says which sign-in the effective values are for.
	effectiveAssumed = "a user assigned the method, with an email address and a phone, TOTP enrolled, a password set, " +
		"signing in from a known IP address with no recent failures; the policy may decide otherwise for other users and signals"
)

// sensitivities are the levels a system may have, in the order the API
// lists them.
func sensitivities() []string { return []string{"low", "medium", "high"} }

// effectiveMethodJSON is the active policy's decision for a sign-in with
// one method of a system.
type effectiveMethodJSON struct {
	// Method is the method assigned; DecidedMethod the one the policy
	// chose (a step-up may differ).
	Method        string `json:"method"`
	Allow         bool   `json:"allow"`
	DecidedMethod string `json:"decided_method"`
	TTLSeconds    int    `json:"ttl_seconds"`
	MaxAttempts   int    `json:"max_attempts"`
	// Channel is where the link or code goes ("email" or "sms"), resolved
	// as delivery would for the representative user; "" when nothing is
	// delivered (TOTP) or the sign-in is denied.
	Channel string   `json:"channel"`
	Reasons []string `json:"reasons"`
}

// effectiveJSON is a system's effective limits: one decision per enabled
// method, by the policy version named. Error says why there are none
// (the evaluations were busy or out of time); a policy that fails to
// decide denies, with its error among the reasons, as at sign-in.
type effectiveJSON struct {
	PolicyVersion int                   `json:"policy_version"`
	Assumed       string                `json:"assumed"`
	Methods       []effectiveMethodJSON `json:"methods"`
	Error         string                `json:"error,omitempty"`
}

// effectiveLimits evaluates the active policy for one request's systems.
// It holds one of the evaluation slots "what would the policy decide"
// uses, so that listing systems cannot load the API more than evaluating
// does; release gives it back.
type effectiveLimits struct {
	s       *Server
	ctx     context.Context
	account store.Account
	now     time.Time
	// unavailable is the error every system answers when no evaluation can
	// run (no free slot, or the account cannot be read).
	unavailable string
	release     func()
	// logged is set once a failing policy has been logged: a broken
	// policy fails every evaluation of the list alike.
	logged bool
}

func (s *Server) newEffectiveLimits(c *gin.Context) *effectiveLimits {
	ctx, cancel := context.WithTimeout(c.Request.Context(), effectiveTimeout)
	e := &effectiveLimits{s: s, ctx: ctx, now: s.now().UTC(), release: cancel}
	free, ok := acquire(ctx, s.evaluations, evaluationWait)
	if !ok {
		e.unavailable = "too many policy evaluations at once; reload to see what the policy decides"
		return e
	}
	e.release = func() { free(); cancel() }
	acc, err := s.store.GetAccount(ctx, caller(c).AccountID)
	if err != nil {
		s.log.Error("load account for effective limits", "error", err)
		e.unavailable = "the account's settings could not be read; reload to see what the policy decides"
	}
	e.account = acc
	return e
}

// system decides for each of methods of a system with these settings.
func (e *effectiveLimits) system(name string, methods []string, sensitivity string, ttl int) *effectiveJSON {
	out := &effectiveJSON{Assumed: effectiveAssumed, Methods: []effectiveMethodJSON{}}
	if e.unavailable != "" {
		out.Error = e.unavailable
		return out
	}
	late := func() *effectiveJSON {
		out.Methods = []effectiveMethodJSON{}
		out.Error = "the policy took too long to decide; reload to see what it decides"
		return out
	}
	for _, m := range methods {
		if e.ctx.Err() != nil {
			return late()
		}
		in := e.input(name, methods, sensitivity, ttl, m)
		d, version, err := e.s.policy.DecideVersion(e.ctx, in)
		if e.ctx.Err() != nil {
			// Cut short by this answer's bound, not decided by the policy.
			return late()
		}
		if err != nil && !e.logged {
			e.logged = true
			e.s.log.Warn("effective limits: the policy failed", "account", e.account.ID, "system", name, "error", err)
		}
		out.PolicyVersion = version
		if d.Reasons == nil {
			d.Reasons = []string{}
		}
		em := effectiveMethodJSON{Method: m, Allow: d.Allow, Reasons: d.Reasons}
		if d.Allow {
			em.DecidedMethod, em.TTLSeconds, em.MaxAttempts = d.Method, d.TTLSeconds, d.MaxAttempts
			em.Channel = deliveredBy(d, e.account.EmailDelivery)
		}
		out.Methods = append(out.Methods, em)
	}
	return out
}

// input is the representative sign-in (see effectiveAssumed) with method
// assigned, built as Begin builds a real one.
func (e *effectiveLimits) input(name string, methods []string, sensitivity string, ttl int, method string) policies.Input {
	return policies.Input{
		Account: policies.AccountOf(e.account.ID, e.account.EmailDelivery),
		Subject: policies.Subject{
			Account: e.account.ID, Assigned: method, TOTPEnrolled: true, HasEmail: true, HasPhone: true,
			PasswordLogin: true, HasPassword: true,
			Groups: []string{}, Attributes: map[string]string{},
		},
		System:  policies.System{Name: name, Methods: methods, Sensitivity: sensitivity, TTLSeconds: ttl},
		Request: policies.Request{Time: e.now},
		History: policies.History{Factors: map[string]policies.Factor{}, LockedFactors: []string{}},
	}
}

// deliveredBy is where delivery sends the decision's link or code for a
// user with both an email address and a phone: the policy's channel, or
// else email unless the account turned email off (see activities'
// contact).
func deliveredBy(d policies.Decision, emailLogin bool) string {
	switch {
	case !attempt.Delivered(d.Method):
		return ""
	case d.Channel != "":
		return d.Channel
	case emailLogin:
		return "email"
	}
	return "sms"
}

// systemsJSON answers systems with their effective limits.
func (s *Server) systemsJSON(c *gin.Context, systems ...store.System) []systemJSON {
	e := s.newEffectiveLimits(c)
	defer e.release()
	out := make([]systemJSON, len(systems))
	for i, sys := range systems {
		out[i] = toSystemJSON(sys)
		out[i].Effective = e.system(sys.Name, out[i].Methods, sys.Sensitivity, sys.TTLSeconds)
	}
	return out
}

// policyEffective answers GET /v1/admin/policy/effective: what the active
// policy decides, for each sensitivity, for a system with these methods
// and validity. The console's system form shows it beside the
// sensitivity, so that choosing one says what it changes.
func (s *Server) policyEffective(c *gin.Context) {
	var methods []string
	if raw := c.Query("methods"); raw != "" {
		methods = strings.Split(raw, ",")
	}
	ttl, rerr := intParam(c, "ttl_seconds", defaultTTLSeconds, minTTLSeconds, maxTTLSeconds)
	if rerr := firstError(validMethods(methods), rerr); rerr != nil {
		respondError(c, rerr)
		return
	}
	name := c.Query("system")
	if name == "" {
		name = "new-system"
	} else if rerr := validSystemName(name); rerr != nil {
		respondError(c, rerr)
		return
	}
	e := s.newEffectiveLimits(c)
	defer e.release()
	type level struct {
		Sensitivity string `json:"sensitivity"`
		*effectiveJSON
	}
	out := make([]level, 0, 3)
	for _, sens := range sensitivities() {
		out = append(out, level{Sensitivity: sens, effectiveJSON: e.system(name, methods, sens, ttl)})
	}
	c.JSON(http.StatusOK, gin.H{"sensitivities": out})
}
