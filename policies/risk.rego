# METADATA
# title: flexauth default risk policy
# description: |
#   Chooses how one login attempt is verified: the method, how long a delivered
#   secret lives, how many wrong codes are tolerated, and whether to proceed at
#   all. Every signal it looks at is named in decision.reasons, because the
#   reasons are what an administrator reads in the audit log.
package flexauth.risk

decision := {
	"allow": allow,
	"method": method,
	"ttl_seconds": ttl_seconds,
	"max_attempts": max_attempts,
	"reasons": reasons,
	"risk": risk,
	"channel": channel,
}

known_methods := {"passwordless", "pin", "totp", "sso", "password"}

# Methods whose secret travels over e-mail or SMS; their life is capped because
# a message can sit unread in an inbox long after the attempt.
delivered_methods := {"passwordless", "pin", "sso"}

default_ttl_seconds := 300

# The engine caps a delivered secret's life at the same value for any policy
# (policies.MaxDeliveredTTL); stating it here keeps this policy's decisions
# and reasons final. TestDefaultPolicyKeepsTheGoLimits keeps the two equal,
# and max_attempts below equal to policies.DefaultMaxAttempts.
max_delivered_ttl_seconds := 600

# --- signals ---------------------------------------------------------------

# An unset sensitivity is read as medium; a value the policy does not know is
# read as high, so that a typo tightens rather than loosens the rules.
sensitivity := input.system.sensitivity if {
	input.system.sensitivity in {"low", "medium", "high"}
} else := "medium" if {
	input.system.sensitivity == ""
} else := "high"

new_ip if input.history.new_ip == true

recent_failures := n if {
	n := input.history.recent_failures
	is_number(n)
	n > 0
} else := 0

enabled(m) if m in input.system.methods

# A factor locked after too many wrong codes (pin, totp, recovery, sso). The
# engine refuses a locked factor whatever the policy says; the policy picks
# another way in where there is one, so that someone who guesses a user's
# codes cannot keep the user out.
factor_locked(f) if f in input.history.locked_factors

# An account may turn email delivery off: then no link or code goes to its
# users by email. Only an explicit false turns it off, so that inputs built
# before the setting existed keep their meaning. (The input also carries the
# same value as email_login, its name before, for policies written then.)
email_delivery_off if input.account.email_delivery == false

# --- risk ------------------------------------------------------------------

risk := "high" if {
	sensitivity == "high"
	count(high_risk_signals) > 0
} else := "medium" if {
	sensitivity != "low"
} else := "medium" if {
	new_ip
} else := "medium" if {
	recent_failures > 0
} else := "low"

# The signals that, on a high-sensitivity system, make an attempt high risk.
high_risk_signals := array.concat(ip_signal, failure_signal)

ip_signal := ["new IP"] if {
	new_ip
} else := []

failure_signal := [failures_text] if {
	recent_failures > 0
} else := []

failures_text := sprintf("%d recent failures", [recent_failures])

# --- method ----------------------------------------------------------------

assigned := input.subject.assigned_method

enrolled if input.subject.totp_enrolled == true

# Step-up replaces a weaker assigned method with TOTP when the risk is high and
# the user and the system can both do TOTP; otherwise the assigned method
# stands and the reasons say why no step-up happened. Single sign-on is not
# stepped up: the identity provider applies its own MFA and conditional
# access, and a TOTP step would bypass the provider rather than add to it.
step_up if {
	risk == "high"
	not assigned in {"totp", "sso", "password"}
	enrolled
	enabled("totp")
}

# A locked PIN gives way to a link sent to the same address: it proves the
# same thing (access to the mailbox or phone) and cannot be guessed. Only
# where the system enables links; otherwise the attempt is denied below.
pin_gives_way if {
	assigned == "pin"
	factor_locked("pin")
	enabled("passwordless")
}

method := "totp" if {
	step_up
} else := "passwordless" if {
	pin_gives_way
} else := assigned

# --- channel ---------------------------------------------------------------

# Where a delivered secret goes. Links go by email, where they are opened. A
# PIN for a high-sensitivity system goes by SMS when the user has a phone, so
# that it does not travel beside the links of a mailbox that may be the
# compromised part. Otherwise email when there is one, else SMS. TOTP
# delivers nothing. With email delivery off for the account, only SMS is
# left (and a user without a phone is denied below).
channel := "" if {
	not method in delivered_methods
} else := "sms" if {
	email_delivery_off
	input.subject.has_phone == true
} else := "" if {
	email_delivery_off
} else := "sms" if {
	method == "pin"
	sensitivity == "high"
	input.subject.has_phone == true
} else := "email" if {
	input.subject.has_email == true
} else := "sms" if {
	input.subject.has_phone == true
} else := ""

# --- limits ----------------------------------------------------------------

max_attempts := 3 if {
	sensitivity == "high"
} else := 5

base_ttl := input.system.ttl_seconds if {
	is_number(input.system.ttl_seconds)
	input.system.ttl_seconds > 0
} else := default_ttl_seconds

sensitivity_ttl := min({base_ttl, 300}) if sensitivity == "medium"

sensitivity_ttl := min({base_ttl, 120}) if sensitivity == "high"

sensitivity_ttl := base_ttl if sensitivity == "low"

# Failures halve the window, but never below a minute (nor above what the
# system already allowed, when that was less than a minute).
failures_ttl := max({floor(sensitivity_ttl / 2), min({sensitivity_ttl, 60})}) if {
	recent_failures > 0
} else := sensitivity_ttl

ttl_seconds := min({failures_ttl, max_delivered_ttl_seconds}) if {
	method in delivered_methods
} else := max({failures_ttl, enrolment_ttl_seconds}) if {
	method == "password"
	not enrolled
} else := failures_ttl

# A password sign-in of a user without an authenticator enrols one on the
# way (installing an app, scanning a code): it gets at least this long.
enrolment_ttl_seconds := 900

# --- denials ---------------------------------------------------------------

deny contains sprintf("unknown assigned method %q", [assigned]) if {
	not assigned in known_methods
}

deny contains sprintf("assigned method %s is not enabled on system %s", [assigned, input.system.name]) if {
	assigned in known_methods
	not enabled(assigned)
}

deny contains "totp not enrolled" if {
	method == "totp"
	not enrolled
}

deny contains "no contact address for delivery" if {
	method in delivered_methods
	not input.subject.has_email == true
	not input.subject.has_phone == true
}

deny contains "email delivery is off for the account" if {
	method in delivered_methods
	email_delivery_off
	not input.subject.has_phone == true
}

deny contains "pin is locked after too many wrong codes" if {
	method == "pin"
	factor_locked("pin")
}

deny contains "totp and recovery codes are locked after too many wrong codes" if {
	method == "totp"
	factor_locked("totp")
	factor_locked("recovery")
}

deny contains "email and password sign-in is off for the user" if {
	method == "password"
	not input.subject.password_login == true
}

deny contains "no password set" if {
	method == "password"
	input.subject.password_login == true
	not input.subject.has_password == true
}

deny contains "password is locked after too many wrong passwords" if {
	method == "password"
	factor_locked("password")
}

deny contains "totp and recovery codes are locked after too many wrong codes" if {
	method == "password"
	enrolled
	factor_locked("totp")
	factor_locked("recovery")
}

deny contains "single sign-on is locked after too many refusals" if {
	method == "sso"
	factor_locked("sso")
}

allow if count(deny) == 0

default allow := false

# --- reasons ---------------------------------------------------------------

# Reasons read in a fixed order: the signals, then what they led to (step-up,
# a channel forced by the account's settings), then every denial.
reasons := array.concat(array.concat(array.concat(signal_reasons, outcome_reasons), channel_reasons), sort(deny))

channel_reasons := ["email delivery is off for the account: sent by sms"] if {
	email_delivery_off
	channel == "sms"
} else := []

signal_reasons := [
	sensitivity_reason,
	ip_reason,
	failures_reason,
]

sensitivity_reason := sprintf("sensitivity %s", [sensitivity]) if {
	sensitivity == input.system.sensitivity
} else := sprintf("sensitivity %s (configured %q)", [sensitivity, input.system.sensitivity])

ip_reason := sprintf("new IP %s", [input.request.ip]) if {
	new_ip
} else := sprintf("known IP %s", [input.request.ip])

failures_reason := failures_text if {
	recent_failures > 0
} else := "no recent failures"

outcome_reasons := [sprintf("step-up to totp: high-sensitivity system and %s", [concat(" and ", high_risk_signals)])] if {
	step_up
} else := ["pin is locked after too many wrong codes: a link is sent instead"] if {
	pin_gives_way
} else := ["totp is locked after too many wrong codes: only a recovery code is accepted"] if {
	method == "totp"
	factor_locked("totp")
	not factor_locked("recovery")
} else := ["no step-up: a password sign-in always takes a totp code"] if {
	risk == "high"
	assigned == "password"
} else := ["no step-up: single sign-on applies the provider's own checks"] if {
	risk == "high"
	assigned == "sso"
} else := ["no step-up: totp not enrolled"] if {
	risk == "high"
	assigned != "totp"
	not enrolled
} else := [sprintf("no step-up: totp not enabled on system %s", [input.system.name])] if {
	risk == "high"
	assigned != "totp"
	not enabled("totp")
} else := []
