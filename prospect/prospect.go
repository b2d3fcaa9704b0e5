// Package prospect holds the sync's rules and nothing else: the prospect and record types, the
// settings and field mapping, the pure Decide (rules R1–R6 of docs/rules.md and our own), the
// error codes a sync can show, and the states it can be in. It imports only the standard
// library: workflows orchestrate these rules, activities feed them with I/O.
package prospect

import (
	"fmt"
	"hash/fnv"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Record types in Salesforce that a prospect can be linked to.
const (
	TypeLead    = "Lead"
	TypeContact = "Contact"
)

// Markers Account Engagement writes in a prospect's CRM id fields.
const (
	// MarkerDoNotSync marks a prospect flagged "Do not sync with CRM".
	MarkerDoNotSync = "[[crm_ignore_prospect]]"
	// MarkerCRMDeleted marks a prospect whose CRM record was deleted in Salesforce.
	MarkerCRMDeleted = "[[crm_deleted]]"
)

// crmIDFields are the prospect's CRM id fields, which carry the markers.
var crmIDFields = []string{"salesforceId", "salesforceLeadId", "salesforceContactId"}

// Prospect is the Account Engagement prospect as the sync sees it, with its assigned user's
// Salesforce id resolved.
//
// The struct is the one field table: the `ae` tag names each field's Account Engagement v5
// field (",mappable" where SYNC_FIELD_MAPPING may name it), and Version covers every field in
// declaration order except those tagged `version:"-"`. Field names are also the JSON of
// recorded histories: rename none.
type Prospect struct {
	ID        int64     `ae:"id"`
	UpdatedAt time.Time `ae:"updatedAt"`
	Email     string    `ae:"email"`
	FirstName string    `ae:"firstName,mappable"`
	LastName  string    `ae:"lastName,mappable"`
	Company   string    `ae:"company,mappable"`
	JobTitle  string    `ae:"jobTitle,mappable"`
	Phone     string    `ae:"phone,mappable"`
	// AssignedUserID is the Account Engagement user id; 0 when unassigned.
	AssignedUserID int64 `ae:"assignedToId"`
	// CRMID, CRMLeadID, CRMContactID and CRMOwnerID are the prospect's CRM fields.
	CRMID        string `ae:"salesforceId"`
	CRMLeadID    string `ae:"salesforceLeadId"`
	CRMContactID string `ae:"salesforceContactId"`
	CRMOwnerID   string `ae:"salesforceOwnerId"`
	Deleted      bool   `ae:"isDeleted"`
	// AssignedUserSalesforceID is the assigned user's Salesforce user id; "" when unmapped.
	// Not in the version: it follows from AssignedUserID, which is.
	AssignedUserSalesforceID string `version:"-"`
	// Link is the record the sync has linked the prospect to: the sync's own state, not an
	// Account Engagement field, so not in the version either.
	Link Link `version:"-"`
}

// Link is the sync's own record of which Salesforce record a prospect syncs with. Account
// Engagement's CRM id fields are read-only (its own connector sets them, docs/engagement.md),
// so the link lives in the sync's state; the CrmRecordId search attribute shows it.
type Link struct {
	// Type is TypeLead or TypeContact; "" when the prospect is not linked.
	Type string `json:"type,omitempty"`
	ID   string `json:"id,omitempty"`
	// OwnerID is the record's owner when the sync last saw it, to tell an owner changed in
	// Salesforce from one the sync chose.
	OwnerID string `json:"ownerId,omitempty"`
	// Deleted: the sync stopped syncing with the record (deleted in Salesforce, or a Flag
	// says why) and matches or creates none until a person allows it.
	Deleted bool `json:"deleted,omitempty"`
	// Flag says why a Deleted link stopped (FlagDeleted, FlagEmailTaken, …); "" in links
	// recorded before flags, which were all deletions.
	Flag string `json:"flag,omitempty"`
	// Archived: the record's deletion sent the prospect to Account Engagement's recycle bin
	// (SYNC_SALESFORCE_DELETES=archive); a restore of the record brings it back.
	Archived bool `json:"archived,omitempty"`
	// Base is what the sync last synced with the record; nil before the first sync that keeps
	// one (and in runs recorded before bases existed, which must replay as they ran).
	Base *Base `json:"base,omitempty"`
}

// field is one row of the table the Prospect struct declares.
type field struct {
	name     string // Account Engagement v5 name
	index    int
	mappable bool
	version  bool
}

var fields = func() []field {
	t := reflect.TypeFor[Prospect]()
	out := make([]field, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("ae"), ",")
		out = append(out, field{name: name, index: i, mappable: opts == "mappable", version: f.Tag.Get("version") != "-"})
	}
	return out
}()

func lookupField(name string) (field, bool) {
	for _, f := range fields {
		if f.name == name && name != "" {
			return f, true
		}
	}
	return field{}, false
}

// Field returns the value of an Account Engagement text field by its v5 name ("" for others).
func (p Prospect) Field(name string) string {
	f, ok := lookupField(name)
	if !ok {
		return ""
	}
	s, _ := reflect.ValueOf(p).Field(f.index).Interface().(string)
	return s
}

// Set sets a field by its Account Engagement v5 name, as a read or a write-back would; it
// reports false for a name it does not know or a value of another type.
func (p *Prospect) Set(name string, value any) bool {
	f, ok := lookupField(name)
	if !ok {
		return false
	}
	dst := reflect.ValueOf(p).Elem().Field(f.index)
	v := reflect.ValueOf(value)
	if !v.IsValid() || v.Type() != dst.Type() {
		return false
	}
	dst.Set(v)
	return true
}

// EngagementFields lists the v5 names of the fields a Prospect holds.
func EngagementFields() []string {
	var out []string
	for _, f := range fields {
		if f.name != "" {
			out = append(out, f.name)
		}
	}
	return out
}

// MappableFields lists the Account Engagement fields the field mapping may name.
func MappableFields() []string {
	var out []string
	for _, f := range fields {
		if f.mappable {
			out = append(out, f.name)
		}
	}
	return out
}

// Version identifies the prospect's state as read from Account Engagement, so that a signal or
// re-check for an unchanged prospect costs no Salesforce call. It covers every field (updatedAt
// alone would not do: Account Engagement's has one-second precision). The format is that of
// recorded histories: changing it would make running workflows decide differently on replay.
func (p Prospect) Version() string {
	v := reflect.ValueOf(p)
	parts := make([]string, 0, len(fields))
	for _, f := range fields {
		if !f.version {
			continue
		}
		switch x := v.Field(f.index).Interface().(type) {
		case string:
			parts = append(parts, fmt.Sprintf("%q", x))
		case time.Time:
			parts = append(parts, x.UTC().Format(time.RFC3339Nano))
		default:
			parts = append(parts, fmt.Sprint(x))
		}
	}
	return strings.Join(parts, "|")
}

// HasMarker reports whether any CRM id field carries the marker.
func (p Prospect) HasMarker(marker string) bool {
	for _, name := range crmIDFields {
		if p.Field(name) == marker {
			return true
		}
	}
	return false
}

// Linked returns the record the prospect is linked to: the Contact when both ids are set,
// since a converted Lead's prospect follows its Contact.
func (p Prospect) Linked() (recordType, id string) {
	if isRecordID(p.CRMContactID) {
		return TypeContact, p.CRMContactID
	}
	if isRecordID(p.CRMLeadID) {
		return TypeLead, p.CRMLeadID
	}
	return "", ""
}

func isRecordID(id string) bool { return id != "" && !strings.HasPrefix(id, "[[") }

// Record is a Salesforce Lead or Contact as read by a lookup.
type Record struct {
	Type               string
	ID                 string
	Email              string
	OwnerID            string
	IsConverted        bool
	ConvertedContactID string
	LastModified       time.Time
	// Fields holds the mapped Salesforce fields that the object has, by API name.
	Fields map[string]string
	// FieldChanged is, by API name, the last time Salesforce's field history saw a mapped
	// field change (LeadHistory, ContactHistory): read for the :recent fields of a linked
	// record when the history is readable. A field absent is not known: not tracked, not
	// readable, never changed since tracking began, or not asked for.
	FieldChanged map[string]time.Time `json:",omitempty"`
}

// RecordType tells a Lead id (prefix 00Q) from a Contact id (003); "" for anything else.
func RecordType(id string) string {
	switch {
	case strings.HasPrefix(id, "00Q"):
		return TypeLead
	case strings.HasPrefix(id, "003"):
		return TypeContact
	}
	return ""
}

// OwnerIsQueue reports whether the record is owned by a queue rather than a user.
func (r Record) OwnerIsQueue() bool { return strings.HasPrefix(r.OwnerID, "00G") }

// Matches is what a lookup found in Salesforce for one prospect.
type Matches struct {
	Leads    []Record
	Contacts []Record
	// Linked is the record the prospect is already linked to, when it still exists.
	Linked *Record
	// LinkedGone is true when the prospect was linked to a record that no longer exists.
	LinkedGone bool
	// MergedInto is the live record a gone linked record was merged into (its MasterRecordId,
	// followed to the survivor); nil when it was deleted outright.
	MergedInto *Record `json:",omitempty"`
	// SurvivorSyncedBy is another prospect whose sync already links MergedInto; 0 for none.
	SurvivorSyncedBy int64 `json:",omitempty"`
}

// Change is one version of a prospect seen in Account Engagement's change feed.
type Change struct {
	ProspectID int64
	UpdatedAt  time.Time
	// Version fingerprints the prospect as read (VersionKey): updatedAt has one-second
	// precision, so two versions can share it. Empty in changes recorded before it existed.
	Version string `json:",omitempty"`
}

// VersionKey is a short fingerprint of the prospect's version, for telling apart two versions
// with the same updatedAt.
func (p Prospect) VersionKey() string {
	h := fnv.New64a()
	h.Write([]byte(p.Version()))
	return strconv.FormatUint(h.Sum64(), 36)
}
