package store

// lockoutSchema holds what the hardening of issue 8 needs:
//
//   - factor_lockouts: a consecutive-failure count per user and factor
//     (pin, totp, recovery, sso) that only a success with that factor or an
//     administrator clears, the lock it led to (a growing wait, then a hard
//     lock), replacing the user-wide count that forgot everything after a
//     quiet window;
//   - attempt_effects: side effects of attempt activities keyed by attempt
//     and effect (the begin, or one update's code check), so that an
//     activity Temporal runs twice applies once and answers the same;
//   - recovery_codes: recovery codes kept as keyed digests (the codes are
//     never needed again in clear), replacing the sealed user_recovery_codes.
//     Rows carried over keep their sealed code until the worker converts
//     them (ConvertSealedRecoveryCodes), since the store holds no keys.
const lockoutSchema = `
CREATE TABLE factor_lockouts (
	user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	factor text NOT NULL,
	failures integer NOT NULL,
	last_failure_at {{time}} NOT NULL,
	locked_until {{time}},
	hard_locked boolean NOT NULL DEFAULT false,
	PRIMARY KEY (user_id, factor)
);
CREATE TABLE attempt_effects (
	attempt_id text NOT NULL,
	effect text NOT NULL,
	result {{json}} NOT NULL,
	at {{time}} NOT NULL,
	PRIMARY KEY (attempt_id, effect)
);
CREATE TABLE recovery_codes (
	id text PRIMARY KEY,
	user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	digest text,
	sealed {{bytes}},
	created_at {{time}} NOT NULL,
	used_at {{time}}
);
INSERT INTO recovery_codes (id, user_id, sealed, created_at, used_at)
	SELECT id, user_id, sealed, created_at, used_at FROM user_recovery_codes;
DROP TABLE user_recovery_codes;
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);
CREATE INDEX attempts_console_ip ON attempts (account_id, authid, ip, started_at)
`
