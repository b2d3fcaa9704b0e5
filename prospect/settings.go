package prospect

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Which side's value a mapped field takes when both sides have one.
const (
	MasterEngagement = "engagement"
	MasterSalesforce = "salesforce"
	// MasterRecent: a field changed on one side since the last sync takes that side's value;
	// changed on both, the side whose record was modified later wins.
	MasterRecent = "recent"
)

// What the sync does when a person changes a linked record's email in Salesforce
// (Settings.SalesforceEmailChanges), as the connector's "Automatically change email addresses
// in Pardot to reflect changes in Salesforce" (on by default).
const (
	// EmailFollow: the prospect's email becomes the record's.
	EmailFollow = "follow"
	// EmailUnlink: the prospect stops syncing with the record until a person allows a new one.
	EmailUnlink = "unlink"
)

// What a record deleted in Salesforce does to its prospect (Settings.SalesforceDeletes), as the
// connector's "Automatically delete or merge prospects if the corresponding records in
// Salesforce are deleted or merged".
const (
	// DeletesFlag: the prospect is flagged CrmDeleted and never recreated until allowed.
	DeletesFlag = "flag"
	// DeletesArchive: flagged, and sent to Account Engagement's recycle bin; a restore of the
	// record brings it back.
	DeletesArchive = "archive"
)

// DefaultPlaceholder fills a Lead's required LastName or Company when the prospect has none,
// as Web-to-Lead does.
const DefaultPlaceholder = "[not provided]"

// FieldMapping maps one Account Engagement field to one Salesforce field.
type FieldMapping struct {
	// Engagement is the v5 prospect field name, e.g. "jobTitle".
	Engagement string `json:"engagement"`
	// Salesforce is the Lead/Contact field API name, e.g. "Title".
	Salesforce string `json:"salesforce"`
	// Master is MasterEngagement, MasterSalesforce or MasterRecent; a non-empty value always
	// beats an empty one.
	Master string `json:"master"`
	// Object restricts the mapping to "Lead" or "Contact"; "" applies to both.
	Object string `json:"object,omitempty"`
}

// AppliesTo reports whether the mapping applies to a record type.
func (m FieldMapping) AppliesTo(recordType string) bool {
	return m.Object == "" || m.Object == recordType
}

// Settings are the sync rules' knobs; the worker reads them from the environment.
type Settings struct {
	// SyncUnassignedMatches syncs a prospect with a matching record even without an assigned
	// user (R3 relaxed, as an older help page describes).
	SyncUnassignedMatches bool `json:"syncUnassignedMatches"`
	// UseActiveAssignmentRules sends every unassigned, unmatched prospect through R5.
	UseActiveAssignmentRules bool `json:"useActiveAssignmentRules"`
	// MatchOrder ranks record types when several records match: earlier wins.
	MatchOrder []string `json:"matchOrder"`
	// Placeholder fills a missing Lead LastName or Company.
	Placeholder string `json:"placeholder"`
	// FieldMapping lists the fields kept in step.
	FieldMapping []FieldMapping `json:"fieldMapping"`
	// RecheckInterval is how often a Synced prospect is re-read on both sides (catches owner
	// changes in Salesforce); 0 disables.
	RecheckInterval time.Duration `json:"recheckInterval"`
	// WaitRecheckInterval is how often a waiting or failed prospect is re-read from Account
	// Engagement when no signal comes; 0 disables. The change feed is the fast path.
	WaitRecheckInterval time.Duration `json:"waitRecheckInterval"`
	// IdleTimeout completes a Synced, DoNotSync or CrmDeleted workflow after this long without
	// change; a later signal-with-start brings it back. 0 keeps it running.
	IdleTimeout time.Duration `json:"idleTimeout"`
	// SalesforceEmailChanges is EmailFollow or EmailUnlink.
	SalesforceEmailChanges string `json:"salesforceEmailChanges,omitempty"`
	// SalesforceDeletes is DeletesFlag or DeletesArchive.
	SalesforceDeletes string `json:"salesforceDeletes,omitempty"`
	// CreateProspects makes a prospect for each Lead or Contact a person (not the integration)
	// creates in Salesforce with an email no prospect has, as the connector's "Automatically
	// create prospects" (off by default; not retroactive; an email is required). The
	// Salesforce change feed finds them.
	CreateProspects bool `json:"createProspects,omitempty"`
}

// DefaultFieldMapping keeps names, company, title and phone in step, Account Engagement's value first.
func DefaultFieldMapping() []FieldMapping {
	return []FieldMapping{
		{Engagement: "firstName", Salesforce: "FirstName", Master: MasterEngagement},
		{Engagement: "lastName", Salesforce: "LastName", Master: MasterEngagement},
		{Engagement: "company", Salesforce: "Company", Master: MasterEngagement, Object: TypeLead},
		{Engagement: "jobTitle", Salesforce: "Title", Master: MasterEngagement},
		{Engagement: "phone", Salesforce: "Phone", Master: MasterEngagement},
	}
}

// DefaultSettings are the documented defaults.
func DefaultSettings() Settings {
	return Settings{
		MatchOrder:             []string{TypeContact, TypeLead},
		Placeholder:            DefaultPlaceholder,
		FieldMapping:           DefaultFieldMapping(),
		RecheckInterval:        0, // the Salesforce change feed reports changes; re-checks are opt-in
		WaitRecheckInterval:    7 * 24 * time.Hour,
		IdleTimeout:            7 * 24 * time.Hour,
		SalesforceEmailChanges: EmailFollow,
		SalesforceDeletes:      DeletesFlag,
	}
}

// Validate reports the first setting that cannot work.
func (s Settings) Validate() error {
	if len(s.MatchOrder) != 2 || !slices.Contains(s.MatchOrder, TypeLead) || !slices.Contains(s.MatchOrder, TypeContact) {
		return fmt.Errorf("match order %v: want Contact,Lead or Lead,Contact", s.MatchOrder)
	}
	for _, m := range s.FieldMapping {
		if !slices.Contains(MappableFields(), m.Engagement) {
			return fmt.Errorf("field mapping: unknown Account Engagement field %q (known: %s)", m.Engagement, strings.Join(MappableFields(), ", "))
		}
		if m.Salesforce == "" {
			return fmt.Errorf("field mapping for %q: empty Salesforce field", m.Engagement)
		}
		if !apiName(m.Salesforce) {
			return fmt.Errorf("field mapping for %q: Salesforce field %q is not an API name (a letter, then letters, digits and underscores)", m.Engagement, m.Salesforce)
		}
		if m.Master != MasterEngagement && m.Master != MasterSalesforce && m.Master != MasterRecent {
			return fmt.Errorf("field mapping for %q: master %q, want engagement, salesforce or recent", m.Engagement, m.Master)
		}
		if m.Object != "" && m.Object != TypeLead && m.Object != TypeContact {
			return fmt.Errorf("field mapping for %q: object %q, want Lead or Contact", m.Engagement, m.Object)
		}
	}
	if s.SalesforceEmailChanges != "" && s.SalesforceEmailChanges != EmailFollow && s.SalesforceEmailChanges != EmailUnlink {
		return fmt.Errorf("email changes in Salesforce %q: want follow or unlink", s.SalesforceEmailChanges)
	}
	if s.SalesforceDeletes != "" && s.SalesforceDeletes != DeletesFlag && s.SalesforceDeletes != DeletesArchive {
		return fmt.Errorf("records deleted in Salesforce %q: want flag or archive", s.SalesforceDeletes)
	}
	return nil
}

// apiName reports whether s can be a Salesforce field's API name (FirstName, Custom__c,
// ns__Custom__c): an ASCII letter, then ASCII letters, digits and underscores. The names are
// written into SOQL, so nothing else may pass.
func apiName(s string) bool {
	for i, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '_')) {
			return false
		}
	}
	return s != ""
}

// ParseMatchOrder parses "Contact,Lead" or "Lead,Contact".
func ParseMatchOrder(s string) ([]string, error) {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		switch strings.ToLower(strings.TrimSpace(part)) {
		case "contact":
			out = append(out, TypeContact)
		case "lead":
			out = append(out, TypeLead)
		default:
			return nil, fmt.Errorf("match order %q: want Contact,Lead or Lead,Contact", s)
		}
	}
	if len(out) != 2 || out[0] == out[1] {
		return nil, fmt.Errorf("match order %q: want Contact,Lead or Lead,Contact", s)
	}
	return out, nil
}

// ParseFieldMapping parses a comma-separated list of engagementField=SalesforceField, each
// optionally followed by ":engagement", ":salesforce" or ":recent" (the master, default
// engagement) and
// "@Lead" or "@Contact" (the object, default both), e.g.
// "firstName=FirstName,company=Company@Lead,phone=Phone:salesforce".
func ParseFieldMapping(s string) ([]FieldMapping, error) {
	var out []FieldMapping
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		m := FieldMapping{Master: MasterEngagement}
		if i := strings.LastIndex(part, "@"); i >= 0 {
			m.Object = strings.TrimSpace(part[i+1:])
			part = part[:i]
		}
		if i := strings.LastIndex(part, ":"); i >= 0 {
			m.Master = strings.ToLower(strings.TrimSpace(part[i+1:]))
			part = part[:i]
		}
		ae, sf, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("field mapping %q: want engagementField=SalesforceField", part)
		}
		m.Engagement, m.Salesforce = strings.TrimSpace(ae), strings.TrimSpace(sf)
		out = append(out, m)
	}
	return out, nil
}

// MappedFields lists the Salesforce fields the mapping reads on a record type.
func MappedFields(s Settings, recordType string) []string {
	var out []string
	for _, m := range s.FieldMapping {
		if m.AppliesTo(recordType) && !slices.Contains(out, m.Salesforce) {
			out = append(out, m.Salesforce)
		}
	}
	return out
}
