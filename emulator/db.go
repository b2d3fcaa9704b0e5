package emulator

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// kind is the type of a Salesforce field.
type kind int

const (
	kString   kind = iota // TEXT, compared case-insensitively
	kID                   // an 18-character record id stored as TEXT
	kBool                 // INTEGER 0/1, never null
	kDateTime             // INTEGER unix milliseconds
)

// fieldDef describes one Salesforce field.
type fieldDef struct {
	Name     string
	Kind     kind
	MaxLen   int      // in characters; 0 = unchecked
	Writable bool     // createable and updateable through the API
	Required bool     // REQUIRED_FIELD_MISSING when empty
	ExtID    bool     // usable as upsert key
	Email    bool     // validated as an email address
	Refs     []string // key prefixes an id field may point to
}

// objectDef describes one sobject and its table (named like the sobject).
type objectDef struct {
	Name     string
	Prefix   string
	Fields   []*fieldDef
	ReadOnly bool // no create/update/delete through the API
	byLower  map[string]*fieldDef
}

func (o *objectDef) field(name string) *fieldDef { return o.byLower[strings.ToLower(name)] }

func (o *objectDef) has(name string) bool { return o.field(name) != nil }

func newObject(name, prefix string, readOnly bool, fields ...*fieldDef) *objectDef {
	o := &objectDef{Name: name, Prefix: prefix, Fields: fields, ReadOnly: readOnly, byLower: map[string]*fieldDef{}}
	for _, f := range fields {
		o.byLower[strings.ToLower(f.Name)] = f
	}
	return o
}

// record is one sobject row keyed by canonical field name. Values are string, bool,
// time.Time or nil.
type record map[string]any

func (r record) str(name string) string {
	s, _ := r[name].(string)
	return s
}

func (r record) boolean(name string) bool {
	b, _ := r[name].(bool)
	return b
}

// defineSchema builds the object descriptions (fields and limits as docs/salesforce.md and emulator/doc.go describe them).
func (e *Emulator) defineSchema() {
	id := func() *fieldDef { return &fieldDef{Name: "Id", Kind: kID} }
	str := func(name string, max int) *fieldDef {
		return &fieldDef{Name: name, Kind: kString, MaxLen: max, Writable: true}
	}
	req := func(f *fieldDef) *fieldDef { f.Required = true; return f }
	email := &fieldDef{Name: "Email", Kind: kString, MaxLen: 80, Writable: true, Email: true}
	dates := func() []*fieldDef {
		return []*fieldDef{
			{Name: "CreatedDate", Kind: kDateTime},
			{Name: "LastModifiedDate", Kind: kDateTime},
			// SystemModstamp moves on every write (and on delete, which leaves it as the
			// deletion time, since a deleted record takes no more writes); the change feeds
			// and SOQL polling read it.
			{Name: fieldModstamp, Kind: kDateTime},
			{Name: "IsDeleted", Kind: kBool},
			// Who created and last changed the record: the user of the token that wrote it,
			// so an integration can tell its own writes from other people's.
			{Name: fieldCreatedBy, Kind: kID, Refs: []string{"005"}},
			{Name: fieldModifiedBy, Kind: kID, Refs: []string{"005"}},
		}
	}
	extID := func() *fieldDef {
		return &fieldDef{Name: "Prospect_Id__c", Kind: kString, MaxLen: 255, Writable: true, ExtID: true}
	}
	// MasterRecordId is the record that was kept when this one was deleted by a merge;
	// null for a live record and for one deleted any other way (Object Reference, Lead and
	// Contact). Only merge writes it, only undelete clears it.
	masterRecord := func() *fieldDef { return &fieldDef{Name: fieldMasterRecord, Kind: kID} }
	e.lead = newObject("Lead", "00Q", false, append([]*fieldDef{
		id(),
		email,
		str("FirstName", 40),
		req(str("LastName", 80)),
		req(str("Company", 255)),
		str("Title", 128),
		str("Phone", 40),
		{Name: "OwnerId", Kind: kID, Writable: true, Refs: []string{"005", "00G"}},
		str("Status", 40),
		{Name: "IsConverted", Kind: kBool},
		{Name: "ConvertedContactId", Kind: kID},
		{Name: "ConvertedAccountId", Kind: kID},
		extID(),
		masterRecord(),
	}, dates()...)...)
	contactEmail := *email
	e.contact = newObject("Contact", "003", false, append([]*fieldDef{
		id(),
		&contactEmail,
		str("FirstName", 40),
		req(str("LastName", 80)),
		str("Title", 128),
		str("Phone", 40),
		{Name: "OwnerId", Kind: kID, Writable: true, Refs: []string{"005"}},
		{Name: "AccountId", Kind: kID, Writable: true, Refs: []string{"001"}},
		extID(),
		masterRecord(),
	}, dates()...)...)
	e.account = newObject("Account", "001", false, append([]*fieldDef{
		id(),
		req(str("Name", 255)),
	}, dates()...)...)
	e.user = newObject("User", "005", true,
		id(),
		&fieldDef{Name: "Username", Kind: kString},
		&fieldDef{Name: "Email", Kind: kString},
		&fieldDef{Name: "Name", Kind: kString},
		&fieldDef{Name: "IsActive", Kind: kBool},
	)
	e.leadHistory, e.contactHistory = historyObject(e.lead), historyObject(e.contact)
	e.objects = map[string]*objectDef{}
	for _, o := range e.tables() {
		e.objects[strings.ToLower(o.Name)] = o
	}
	e.prospectFields = prospectFieldDefs()
	e.aeUserFields = aeUserFieldDefs()
}

// tables are the sobjects the database keeps, each in a table of its name.
func (e *Emulator) tables() []*objectDef {
	return []*objectDef{e.lead, e.contact, e.account, e.user, e.leadHistory, e.contactHistory}
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// foldExpr is the SQL image of a text column under case folding, for indexes and
// prefilters. SQLite's lower() folds ASCII only, while strings.EqualFold (how the emulator
// compares strings) also equates KELVIN SIGN with k and LONG S with s, the only non-ASCII
// letters whose fold orbits reach ASCII; mapping both first makes
// EqualFold(v, lit) imply foldExpr(v) = lower(lit) for every ASCII lit. Indexes use this
// exact text, so queries must too for SQLite to match them.
func foldExpr(col string) string {
	return "lower(replace(replace(" + quoteIdent(col) + ", '\u212a', 'k'), '\u017f', 's'))"
}

// isASCII reports whether s has only ASCII characters, the precondition of foldExpr.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// indexes serve the lookups the sync makes on large tables (Lead/Contact by email, by
// Prospect_Id__c and by converted contact; prospects changed since a time). IF NOT
// EXISTS adds them to databases created before they existed.
func (e *Emulator) indexes() []string {
	var out []string
	for _, o := range []*objectDef{e.lead, e.contact} {
		t := quoteIdent(o.Name)
		out = append(out,
			fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (%s)", quoteIdent(o.Name+"_email_fold"), t, foldExpr("Email")),
			fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (%s)", quoteIdent(o.Name+"_prospect_id_fold"), t, foldExpr("Prospect_Id__c")),
			fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (%s)", quoteIdent(o.Name+"_modstamp"), t, quoteIdent(fieldModstamp)),
		)
	}
	for _, o := range []*objectDef{e.lead, e.contact} {
		h := e.historyOf(o)
		out = append(out, fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (%s)",
			quoteIdent(h.Name+"_parent"), quoteIdent(h.Name), quoteIdent(historyParentField(o))))
	}
	return append(out,
		`CREATE INDEX IF NOT EXISTS "Lead_converted_contact" ON "Lead" ("ConvertedContactId")`,
		// The rowid (id) rides along in every index, so these also give (time, id) order.
		`CREATE INDEX IF NOT EXISTS prospects_updated_at ON prospects (updated_at)`,
		`CREATE INDEX IF NOT EXISTS prospects_created_at ON prospects (created_at)`,
		// A business unit without AMPSEA looks prospects up by email on every create and
		// email change.
		`CREATE INDEX IF NOT EXISTS prospects_email_key ON prospects (`+aeEmailKey+`)`,
	)
}
