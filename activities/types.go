package activities

import (
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

// Prospect is the Account Engagement prospect as the workflow sees it, with its assigned
// user's Salesforce id resolved.
type Prospect struct {
	ID        int64
	Email     string
	FirstName string
	LastName  string
	Company   string
	JobTitle  string
	Phone     string
	// AssignedUserID is the Account Engagement user id; 0 when unassigned.
	AssignedUserID int64
	// AssignedUserSalesforceID is that user's Salesforce user id; "" when unmapped.
	AssignedUserSalesforceID string
	// CRMID, CRMLeadID, CRMContactID and CRMOwnerID are the prospect's CRM fields
	// (salesforceId, salesforceLeadId, salesforceContactId, salesforceOwnerId).
	CRMID        string
	CRMLeadID    string
	CRMContactID string
	CRMOwnerID   string
	UpdatedAt    time.Time
	Deleted      bool
}

// Field returns the value of an Account Engagement field by its v5 name ("" for others).
func (p Prospect) Field(name string) string {
	if f := p.field(name); f != nil {
		return *f
	}
	return ""
}

// SetField sets an Account Engagement text field by its v5 name, as a write-back would;
// it reports false for a name it does not know.
func (p *Prospect) SetField(name, value string) bool {
	f := p.field(name)
	if f != nil {
		*f = value
	}
	return f != nil
}

// field maps v5 field names to the struct: written once for reads, writes and mapping.
func (p *Prospect) field(name string) *string {
	switch name {
	case "email":
		return &p.Email
	case "firstName":
		return &p.FirstName
	case "lastName":
		return &p.LastName
	case "company":
		return &p.Company
	case "jobTitle":
		return &p.JobTitle
	case "phone":
		return &p.Phone
	case "salesforceId":
		return &p.CRMID
	case "salesforceLeadId":
		return &p.CRMLeadID
	case "salesforceContactId":
		return &p.CRMContactID
	case "salesforceOwnerId":
		return &p.CRMOwnerID
	}
	return nil
}

// MappableProspectFields are the Account Engagement fields the field mapping may name.
var MappableProspectFields = []string{"firstName", "lastName", "company", "jobTitle", "phone"}

// HasMarker reports whether any CRM id field carries the marker.
func (p Prospect) HasMarker(marker string) bool {
	return p.CRMID == marker || p.CRMLeadID == marker || p.CRMContactID == marker
}

// CRMRecord is a Salesforce Lead or Contact as read by a lookup.
type CRMRecord struct {
	Type               string
	ID                 string
	Email              string
	OwnerID            string
	IsConverted        bool
	ConvertedContactID string
	LastModified       time.Time
	// Fields holds the mapped Salesforce fields that the object has, by API name.
	Fields map[string]string
}

// OwnerIsQueue reports whether the record is owned by a queue rather than a user.
func (r CRMRecord) OwnerIsQueue() bool { return strings.HasPrefix(r.OwnerID, "00G") }

// Matches is what a lookup found in Salesforce for one prospect.
type Matches struct {
	Leads    []CRMRecord
	Contacts []CRMRecord
	// Linked is the record the prospect is already linked to, when it still exists.
	Linked *CRMRecord
	// LinkedGone is true when the prospect was linked to a record that no longer exists.
	LinkedGone bool
}

// FetchProspectInput names the prospect to read.
type FetchProspectInput struct {
	ProspectID int64
}

// FetchProspectResult is the prospect, or Found=false when Account Engagement does not know it.
type FetchProspectResult struct {
	Found    bool
	Prospect Prospect
}

// FindMatchesInput is what to look up in Salesforce.
type FindMatchesInput struct {
	Email string
	// LinkedType and LinkedID name the record the prospect is linked to, if any.
	LinkedType string
	LinkedID   string
	// LeadFields and ContactFields are the mapped Salesforce fields to read on each object.
	LeadFields    []string
	ContactFields []string
}

// FindMatchesResult is the lookup's outcome.
type FindMatchesResult struct {
	Matches Matches
}

// CreateLeadInput describes the Lead to create for a prospect.
type CreateLeadInput struct {
	ProspectID int64
	Email      string
	// Fields are the Lead fields to set (mapped values, placeholders applied).
	Fields map[string]string
	// OwnerID is the Salesforce user to own the Lead; "" leaves it to Salesforce.
	OwnerID string
	// UseAssignmentRule sends the Lead through the active assignment rule (R5).
	UseAssignmentRule bool
	// ReadFields are the mapped Lead fields to report back in the result.
	ReadFields []string
}

// CreateLeadResult is the Lead that now exists for the prospect.
type CreateLeadResult struct {
	Record CRMRecord
	// Existing is true when a retry found the Lead an earlier attempt had created.
	Existing bool
}

// UpdateRecordInput is a field update on a Lead or Contact.
type UpdateRecordInput struct {
	Type   string
	ID     string
	Fields map[string]string
}

// UpdateRecordResult is empty: success means Salesforce accepted every field.
type UpdateRecordResult struct{}

// WriteBackInput is what to write to the prospect in Account Engagement.
type WriteBackInput struct {
	ProspectID int64
	// Fields are Account Engagement fields by v5 name.
	Fields map[string]string
	// AssignOwnerID, when set, is a Salesforce user whose Account Engagement user becomes
	// the prospect's assigned user (owner flowing back from Salesforce).
	AssignOwnerID string
	// CurrentAssignedUserID is the prospect's assigned user before the write.
	CurrentAssignedUserID int64
}

// WriteBackResult reports what was written.
type WriteBackResult struct {
	// AssignedUserID is the prospect's assigned user after the write; 0 when unassigned.
	AssignedUserID int64
	// Prospect is the prospect after the write; zero when nothing was written.
	Prospect Prospect
}
