// Package config reads the sync's settings from the environment, for every program that needs
// them: the worker runs by them, and `starter plan` decides by the same ones, so a plan and the
// sync that follows it cannot disagree.
package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/prospect-sync/prospect-sync/prospect"
)

// SyncSettings reads the SYNC_* rule settings (docs/configuration.md); unset ones keep their
// defaults. Every malformed value is reported, not only the first.
func SyncSettings(getenv func(string) string) (prospect.Settings, error) {
	r := reader{getenv: getenv}
	s := prospect.DefaultSettings()
	s.SyncUnassignedMatches = r.bool("SYNC_UNASSIGNED_MATCHES", false)
	s.UseActiveAssignmentRules = r.bool("SYNC_ACTIVE_ASSIGNMENT_RULES", false)
	s.Placeholder = r.str("SYNC_PLACEHOLDER", prospect.DefaultPlaceholder)
	s.RecheckInterval = r.duration("SYNC_RECHECK_INTERVAL", s.RecheckInterval)
	s.WaitRecheckInterval = r.duration("SYNC_WAIT_RECHECK_INTERVAL", s.WaitRecheckInterval)
	s.IdleTimeout = r.duration("SYNC_IDLE_TIMEOUT", s.IdleTimeout)
	s.SalesforceEmailChanges = strings.ToLower(r.str("SYNC_SALESFORCE_EMAIL_CHANGES", prospect.EmailFollow))
	s.CreateProspects = r.bool("SYNC_CREATE_PROSPECTS", false)
	s.SalesforceDeletes = strings.ToLower(r.str("SYNC_SALESFORCE_DELETES", prospect.DeletesFlag))
	if v := r.str("SYNC_MATCH_ORDER", ""); v != "" {
		order, err := prospect.ParseMatchOrder(v)
		r.fail("SYNC_MATCH_ORDER", err)
		s.MatchOrder = order
	}
	if v := r.str("SYNC_FIELD_MAPPING", ""); v != "" {
		m, err := prospect.ParseFieldMapping(v)
		r.fail("SYNC_FIELD_MAPPING", err)
		s.FieldMapping = m
	}
	if len(r.errs) == 0 {
		if err := s.Validate(); err != nil {
			r.errs = append(r.errs, err)
		}
	}
	return s, errors.Join(r.errs...)
}

// reader reads variables and collects what is wrong with them.
type reader struct {
	getenv func(string) string
	errs   []error
}

func (r *reader) str(key, def string) string {
	if v := strings.TrimSpace(r.getenv(key)); v != "" {
		return v
	}
	return def
}

func (r *reader) fail(key string, err error) {
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s: %w", key, err))
	}
}

func (r *reader) bool(key string, def bool) bool {
	v := r.str(key, strconv.FormatBool(def))
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s=%q: want true or false", key, v))
	}
	return b
}

func (r *reader) duration(key string, def time.Duration) time.Duration {
	v := r.str(key, def.String())
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		r.errs = append(r.errs, fmt.Errorf("%s=%q: want a duration such as 24h", key, v))
	}
	return d
}

func (r *reader) int(key string, def int) int {
	v := r.str(key, strconv.Itoa(def))
	n, err := strconv.Atoi(v)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s=%q: want an integer", key, v))
	}
	return n
}
