package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"github.com/uptrace/bun"
)

// InsertAttempt records a new attempt with its audit events, in one
// transaction. Inserting the same ID again changes nothing and appends
// nothing, so a retried activity neither fails nor audits twice; inserted
// says whether this call recorded it.
func (s *Store) InsertAttempt(ctx context.Context, a *Attempt, events ...AuditEvent) (inserted bool, err error) {
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewInsert().Model(a).On("CONFLICT (id) DO NOTHING").Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		inserted = true
		return appendAudit(ctx, tx, events)
	})
	if err != nil {
		return false, fmt.Errorf("insert attempt %s: %w", a.ID, err)
	}
	return inserted, nil
}

// AttemptUpdate is a state transition published by the workflow. Zero
// fields are left as they are.
type AttemptUpdate struct {
	State      string
	Method     string
	ExpiresAt  *time.Time
	LinkDigest string
	// Challenge is the sealed secret of a challenge drawn with the
	// transition (a begin that issues it): kept unless one is stored, as
	// SetChallenge keeps it.
	Challenge []byte
	// PageDigest and Step, for a password or sso attempt: its hosted
	// page's digest and the step it starts at.
	PageDigest string
	Step       string
	At         time.Time
	// LoginUserID, on a transition to authenticated, records the user's
	// sign-in in the same transaction, so it is counted exactly once.
	// LoginFactor is the factor that signed in (pin, totp, recovery, sso;
	// "" for a link): its run of failures ends.
	LoginUserID string
	LoginIP     string
	LoginFactor string
	// Effect, when set, is recorded in the same transaction whether or not
	// the transition applied: the activity that publishes it has run.
	Effect *EffectRecord
}

// EffectRecord names an effect and the answer to keep for it (see Effect).
type EffectRecord struct {
	Key    string
	Result any
}

// PublishAttempt applies a transition and appends its audit events in one
// transaction. A terminal attempt is never changed again, so a late or
// replayed publish cannot resurrect it; the events are still appended only
// when the transition applied.
func (s *Store) PublishAttempt(ctx context.Context, id string, u AttemptUpdate, events ...AuditEvent) (bool, error) {
	applied := false
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		applied, err = publish(ctx, tx, id, u, nil, events)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("publish attempt %s: %w", id, err)
	}
	return applied, nil
}

// publish is PublishAttempt within tx. The events before are appended
// whether or not the transition applies, in the same statement as its own.
func publish(ctx context.Context, tx bun.IDB, id string, u AttemptUpdate, before, events []AuditEvent) (bool, error) {
	q := tx.NewUpdate().Model((*Attempt)(nil)).Set("updated_at = ?", u.At).
		Where("id = ?", id).Where("state = ?", AttemptPending)
	if u.State != "" {
		q = q.Set("state = ?", u.State)
		if Terminal(u.State) {
			q = q.Set("completed_at = ?", u.At).Set("challenge = NULL").
				Set("sso_state_digest = NULL").Set("sso_sealed = NULL")
		}
	}
	if u.Method != "" {
		q = q.Set("method = ?", u.Method)
	}
	if u.ExpiresAt != nil {
		q = q.Set("expires_at = ?", *u.ExpiresAt)
	}
	if u.LinkDigest != "" {
		q = q.Set("link_digest = ?", u.LinkDigest)
	}
	if u.Challenge != nil && (u.State == "" || !Terminal(u.State)) {
		q = q.Set("challenge = coalesce(challenge, ?)", u.Challenge)
	}
	if u.PageDigest != "" {
		q = q.Set("page_digest = ?", u.PageDigest)
	}
	if u.Step != "" {
		q = q.Set("step = ?", u.Step)
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("update attempt: %w", err)
	}
	n, _ := res.RowsAffected()
	if n == 1 && u.State != "" && Terminal(u.State) {
		if err := dropAttemptSecrets(ctx, tx, []string{id}); err != nil {
			return false, err
		}
	}
	if u.Effect != nil {
		if err := saveEffect(ctx, tx, id, u.Effect.Key, u.Effect.Result, u.At); err != nil {
			return false, err
		}
	}
	if n == 0 {
		return false, appendAudit(ctx, tx, before)
	}
	if u.LoginUserID != "" {
		if err := recordLogin(ctx, tx, u.LoginUserID, u.LoginIP, u.LoginFactor, u.At); err != nil {
			return false, err
		}
	}
	return true, appendAudit(ctx, tx, append(before, events...))
}

// CancelOtherAttempts marks the subject's older pending attempts cancelled
// (superseded by a) and returns their IDs. Starts race: an older attempt's
// begin can run after a newer one's (its workflow was already terminated,
// its local activity was not). So only older attempts are cancelled, and a
// that finds a newer attempt of its subject is cancelled itself instead
// (superseded reports it), in the same transaction.
func (s *Store) CancelOtherAttempts(ctx context.Context, a Attempt, at time.Time) (ids []string, superseded bool, err error) {
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var events []AuditEvent
		ids, superseded, events, err = s.on(tx).cancelOthers(ctx, a, at)
		if err != nil {
			return err
		}
		return appendAudit(ctx, tx, events)
	})
	if err != nil {
		return nil, false, fmt.Errorf("cancel superseded attempts: %w", err)
	}
	return ids, superseded, nil
}

// otherAttemptsSQL is cancelOthers' statement (see preparedStatements);
// its arguments: the attempt's start (timeArg), account, system, authid,
// ID, its start again and AttemptPending.
func otherAttemptsSQL(db *bun.DB) string {
	arg := bun.Safe("?")
	return db.NewSelect().Model((*Attempt)(nil)).Column("id").ColumnExpr("started_at > ? AS newer", arg).
		Where("account_id = ? AND system = ? AND authid = ? AND id <> ?", arg, arg, arg, arg).
		Where("(started_at > ? OR state = ?)", arg, arg).
		String()
}

// cancelOthers is CancelOtherAttempts within s's transaction; it returns the audit
// events of the cancellations for the caller to append. One query finds
// both a newer attempt of the subject and the older pending ones.
func (s *Store) cancelOthers(ctx context.Context, a Attempt, at time.Time) (ids []string, superseded bool, events []AuditEvent, err error) {
	tx := s.db
	var others []struct {
		ID    string `bun:"id"`
		Newer bool   `bun:"newer"`
	}
	started := s.timeArg(a.StartedAt)
	err = s.scanPrepared(ctx, &s.prepared.otherAttempts,
		[]any{started, a.AccountID, a.System, a.AuthID, a.ID, started, AttemptPending}, &others)
	if err != nil {
		return nil, false, nil, fmt.Errorf("find the subject's other attempts: %w", err)
	}
	for _, o := range others {
		if o.Newer {
			superseded = true
			ids = []string{a.ID}
			break
		}
		ids = append(ids, o.ID)
	}
	if len(ids) == 0 {
		return nil, false, nil, nil
	}
	if err := cancelAttempts(ctx, tx, ids, at); err != nil {
		return nil, false, nil, err
	}
	reason := "superseded by attempt " + a.ID
	if superseded {
		reason = "superseded by a newer attempt that began first"
	}
	events = make([]AuditEvent, len(ids))
	for i, id := range ids {
		events[i] = AuditEvent{
			AccountID: a.AccountID, Time: at, Type: "attempt.cancelled",
			System: a.System, AuthID: a.AuthID, AttemptID: id, IP: a.IP,
			Reasons: []string{reason},
		}
	}
	return ids, superseded, events, nil
}

// Opening is what OpenAttempt did.
type Opening struct {
	// Done is true when the attempt had its effect recorded already (a
	// retried begin): OpenAttempt changed nothing and filled the result.
	Done bool
	// Superseded is true when a newer attempt of the subject began first:
	// the attempt is cancelled already (and audited).
	Superseded bool
	// Cancelled are the attempts that ended cancelled: the subject's older
	// pending ones or, superseded, this one.
	Cancelled []string
	// inserted is true when this run recorded the attempt (not a rerun):
	// it is counted then.
	inserted bool
}

// OpenAttempt begins an attempt in one transaction: it records a with its
// audit events and supersedes the subject's other attempts, as
// InsertAttempt and CancelOtherAttempts do one after the other. When a is
// recorded already and has its effect, the effect's answer fills result
// and nothing changes; a first run reads no effect (none can exist before
// the row).
func (s *Store) OpenAttempt(ctx context.Context, a *Attempt, effect string, result any, at time.Time, events ...AuditEvent) (Opening, error) {
	var o Opening
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if o, events, err = s.open(ctx, tx, a, effect, result, at, events); err != nil || o.Done {
			return err
		}
		if err := appendAudit(ctx, tx, events); err != nil {
			return err
		}
		if o.inserted {
			return countStart(ctx, tx, a, at)
		}
		return nil
	})
	if err != nil {
		return Opening{}, fmt.Errorf("open attempt %s: %w", a.ID, err)
	}
	return o, nil
}

// Publication is what a begin decided: the transition of its attempt and
// the audit events that go with it, published as PublishAttempt does.
type Publication struct {
	Update AttemptUpdate
	Events []AuditEvent
}

// BeginAttempt runs a whole begin in one transaction: it opens a as
// OpenAttempt does, asks decide what to publish, and publishes it as
// PublishAttempt does. decide reads through tx, a Store on the
// transaction, and must use no other handle on the database: the
// transaction holds the subject's lock (on SQLite, the only writer's) and
// a connection of the pool. decide is not called when a was begun already
// (Opening.Done); when it fails, nothing is recorded.
func (s *Store) BeginAttempt(ctx context.Context, a *Attempt, effect string, result any, at time.Time, events []AuditEvent,
	decide func(ctx context.Context, tx *Store, o Opening) (Publication, error)) (Opening, error) {
	var o Opening
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var opened []AuditEvent
		var err error
		if o, opened, err = s.open(ctx, tx, a, effect, result, at, events); err != nil || o.Done {
			return err
		}
		p, err := decide(ctx, s.on(tx), o)
		if err != nil {
			return err
		}
		if _, err = publish(ctx, tx, a.ID, p.Update, opened, p.Events); err != nil {
			return err
		}
		if o.inserted {
			return countStart(ctx, tx, a, at)
		}
		return nil
	})
	if err != nil {
		return Opening{}, fmt.Errorf("begin attempt %s: %w", a.ID, err)
	}
	return o, nil
}

// open is OpenAttempt within tx, but for the audit events, which it
// returns (the attempt's and its cancellations) for the caller to append.
func (s *Store) open(ctx context.Context, tx bun.Tx, a *Attempt, effect string, result any, at time.Time, events []AuditEvent) (Opening, []AuditEvent, error) {
	if s.postgres {
		// Two begins of one subject at once would each miss the other's
		// uncommitted row and both stay pending, and begins of one user on
		// several systems would each miss the others' starts and all pass
		// the user's start limit, which spans systems: the user's lock
		// makes the second wait, and its next statement sees the first.
		// (SQLite's transactions begin IMMEDIATE: one writer.)
		if _, err := tx.NewRaw("SELECT pg_advisory_xact_lock(?)", userLock(a)).Exec(ctx); err != nil {
			return Opening{}, nil, fmt.Errorf("lock the user's begins: %w", err)
		}
	}
	res, err := tx.NewInsert().Model(a).On("CONFLICT (id) DO NOTHING").Exec(ctx)
	if err != nil {
		return Opening{}, nil, fmt.Errorf("insert: %w", err)
	}
	var o Opening
	n, _ := res.RowsAffected()
	o.inserted = n > 0
	if n == 0 {
		events = nil // audited by the run that inserted it
		if o.Done, err = s.on(tx).loadEffect(ctx, a.ID, effect, result); err != nil || o.Done {
			return o, nil, err
		}
	}
	var cancelled []AuditEvent
	o.Cancelled, o.Superseded, cancelled, err = s.on(tx).cancelOthers(ctx, *a, at)
	if err != nil {
		return Opening{}, nil, err
	}
	return o, append(slices.Clone(events), cancelled...), nil
}

// AttemptCount selects the attempts a start limit counts. Empty fields
// match everything.
type AttemptCount struct {
	AccountID  string
	AuthID     string   // one user's (across systems)
	System     string   // only this system's
	NotSystems []string // every system's but these
	IP         string   // only those from this address
	// UnknownIPs counts only attempts from addresses that no successful
	// sign-in came from: the user's (AuthID set) or any user's of the account.
	UnknownIPs bool
	Since      time.Time
	// FromCounter reads the account's application starts (every system but
	// the console and the security settings) from its per-second counts
	// instead of its attempts: only AccountID and Since apply, and only
	// CountAttemptsEach reads it. A start is counted when its begin
	// commits, so the begin that asks has not counted itself yet.
	FromCounter bool
	// AtMost stops counting after this many (0: count all). A limit only
	// needs to know whether it is exceeded, and the account-wide count
	// would otherwise read every attempt of the window: its cost would
	// grow with the traffic it limits.
	AtMost int
}

// CountAttempts counts the attempts started at or after f.Since that f
// selects.
func (s *Store) CountAttempts(ctx context.Context, f AttemptCount) (int, error) {
	n, err := s.attemptCount(f).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count attempts: %w", err)
	}
	return int(n), nil
}

// CountAttemptsEach counts, for each of fs, what CountAttempts would, in
// one query: the start limits ask several counts of every start.
func (s *Store) CountAttemptsEach(ctx context.Context, fs ...AttemptCount) ([]int, error) {
	if len(fs) == 0 {
		return nil, nil
	}
	q := s.db.NewSelect()
	for i, f := range fs {
		col := bun.Ident(fmt.Sprintf("n%d", i))
		if f.FromCounter {
			q = q.ColumnExpr("(?) AS ?", s.startCount(f), col)
			continue
		}
		if f.AtMost > 0 {
			first := s.attemptCount(f).ColumnExpr("1").Limit(int64(f.AtMost))
			q = q.ColumnExpr("(SELECT count(*) FROM (?) AS c) AS ?", first, col)
			continue
		}
		q = q.ColumnExpr("(?) AS ?", s.attemptCount(f).ColumnExpr("count(*)"), col)
	}
	counts := make([]int, len(fs))
	dest := make([]any, len(fs))
	for i := range counts {
		dest[i] = &counts[i]
	}
	if err := q.Scan(ctx, dest...); err != nil {
		return nil, fmt.Errorf("count attempts: %w", err)
	}
	return counts, nil
}

// attemptCount selects the attempts f counts.
func (s *Store) attemptCount(f AttemptCount) *bun.SelectQuery {
	q := s.db.NewSelect().Model((*Attempt)(nil)).Where("attempt.account_id = ? AND attempt.started_at >= ?", f.AccountID, f.Since)
	if f.AuthID != "" {
		q = q.Where("attempt.authid = ?", f.AuthID)
	}
	if f.System != "" {
		q = q.Where("attempt.system = ?", f.System)
	}
	if len(f.NotSystems) > 0 {
		q = q.Where("attempt.system NOT IN (?)", bun.List(f.NotSystems))
	}
	if f.IP != "" {
		q = q.Where("attempt.ip = ?", f.IP)
	}
	if f.UnknownIPs {
		known := s.db.NewSelect().TableExpr("user_ips AS ui").ColumnExpr("ui.ip").
			Join("JOIN users AS u ON u.id = ui.user_id").Where("u.account_id = ?", f.AccountID)
		if f.AuthID != "" {
			known = known.Where("u.authid = ?", f.AuthID)
		}
		q = q.Where("attempt.ip NOT IN (?)", known)
	}
	return q
}

// LatestAttempt returns the subject's most recent attempt.
func (s *Store) LatestAttempt(ctx context.Context, accountID, system, authid string) (Attempt, error) {
	var a Attempt
	err := s.db.NewSelect().Model(&a).
		Where("account_id = ? AND system = ? AND authid = ?", accountID, system, authid).
		Order("started_at DESC").Limit(1).Scan(ctx)
	if err != nil {
		return Attempt{}, notFound(err, "attempt")
	}
	return a, nil
}

// GetAttempt loads an attempt by ID.
func (s *Store) GetAttempt(ctx context.Context, id string) (Attempt, error) {
	var a Attempt
	if err := s.db.NewSelect().Model(&a).Where("id = ?", id).Scan(ctx); err != nil {
		return Attempt{}, notFound(err, "attempt")
	}
	return a, nil
}

// AttemptByLinkDigest finds the attempt a link belongs to.
func (s *Store) AttemptByLinkDigest(ctx context.Context, digest string) (Attempt, error) {
	var a Attempt
	if err := s.db.NewSelect().Model(&a).Where("link_digest = ?", digest).Scan(ctx); err != nil {
		return Attempt{}, notFound(err, "attempt")
	}
	return a, nil
}

// SetChallenge stores the sealed secret of a pending attempt unless one is
// already stored, and returns the stored one: a retried delivery resends the
// secret it first drew instead of a new one. It returns nil when the
// attempt is no longer pending (an ended attempt keeps no challenge).
func (s *Store) SetChallenge(ctx context.Context, id string, sealed []byte) ([]byte, error) {
	var stored []byte
	err := s.db.NewUpdate().Model((*Attempt)(nil)).
		Set("challenge = coalesce(challenge, ?)", sealed).
		Where("id = ? AND state = ?", id, AttemptPending).
		Returning("challenge").
		Scan(ctx, &stored)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("set challenge of attempt %s: %w", id, err)
	}
	return stored, nil
}

// cancelAttempts ends the pending attempts ids as cancelled at at and
// drops their secrets. A workflow still running for one of them can no
// longer publish an outcome: publishing needs a pending row.
func cancelAttempts(ctx context.Context, db bun.IDB, ids []string, at time.Time) error {
	_, err := db.NewUpdate().Model((*Attempt)(nil)).
		Set("state = ?", AttemptCancelled).
		Set("completed_at = ?", at).Set("updated_at = ?", at).
		Set("challenge = NULL").Set("sso_state_digest = NULL").Set("sso_sealed = NULL").
		Where("id IN (?)", bun.List(ids)).Where("state = ?", AttemptPending).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("cancel attempts: %w", err)
	}
	return dropAttemptSecrets(ctx, db, ids)
}

// dropAttemptSecrets deletes what ended attempts kept for their steps (a
// password nobody checked), but for recovery codes drawn at enrolment,
// which the page still shows once.
func dropAttemptSecrets(ctx context.Context, db bun.IDB, ids []string) error {
	_, err := db.NewDelete().Model((*AttemptSecret)(nil)).
		Where("attempt_id IN (?) AND secret_key <> ?", bun.List(ids), SecretRecoveryCodes).Exec(ctx)
	if err != nil {
		return fmt.Errorf("remove secrets of ended attempts: %w", err)
	}
	return nil
}

// userLock is the key of the PostgreSQL advisory lock that serialises the
// begins of a's user, on every system (its subject's among them). Users
// that share a key only wait for each other.
func userLock(a *Attempt) int64 {
	h := fnv.New64a()
	for _, part := range []string{"flexauth.attempt-user", a.AccountID, a.AuthID} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return int64(h.Sum64())
}
