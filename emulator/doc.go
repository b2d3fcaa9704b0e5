// Package emulator is a local stand-in for the Salesforce REST API and the Account
// Engagement (Pardot) API v5, backed by SQLite. It speaks the wire formats of
// docs/salesforce.md and docs/engagement.md on one address, so the real clients can run against it unchanged.
// It shares no code with the clients: both are written from the documented formats, so they
// cannot agree on a mistake. Where the services refuse a request the emulator refuses it
// too, in their words, so a client that breaks a rule fails here before it fails in
// production.
//
// An *Emulator is an http.Handler; the caller chooses the listener:
//
//	emu, err := emulator.New(emulator.Options{Seed: true}) // DSN "" = in-memory
//	srv := httptest.NewServer(emu)                          // or http.ListenAndServe(":8280", emu)
//
// # Endpoints
//
//   - POST /services/oauth2/token — client_credentials (ClientID/ClientSecret) or
//     jwt-bearer: an RS256 JWT with iss=ClientID, sub=a User's Username, aud
//     https://login.salesforce.com, https://test.salesforce.com or the emulator's own base
//     URL (playing the org's My Domain), and an exp after now and at most 3 minutes ahead.
//     Refusals are Salesforce's: invalid_client "client identifier invalid", invalid_grant
//     "audience is invalid", "expired authorization code", "user hasn't approved this
//     consumer". A token expires after the lifetime in force when it was issued
//     (Options.TokenTTL, changed at run time by SetTokenTTL).
//   - GET /services/data/ — the versions the org offers (Options.APIVersions, by default
//     31.0 through 67.0), oldest first, as [{"label":"Spring '26","url":"/services/data/v66.0",
//     "version":"66.0"},...]. No token needed; it is no API call, so it is neither counted
//     nor limited. Any other version in a path (composite subrequests included) answers 404
//     [{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}].
//   - /services/data/vNN.N/query?q=SOQL (and queryAll, and query/<cursor>-<offset>) —
//     a SOQL subset: SELECT fields FROM Lead|Contact|User|Account|LeadHistory|ContactHistory [WHERE =, !=, <, <=, >, >=,
//     [NOT] IN, AND, OR, NOT, parentheses] [ORDER BY ... NULLS FIRST|LAST] [LIMIT] [OFFSET].
//     String equality is case-insensitive. Datetime fields (CreatedDate, LastModifiedDate,
//     SystemModstamp) compare with literals as Salesforce writes them (2026-05-06T12:00:00Z,
//     ...:00.000+02:00), e.g. WHERE SystemModstamp >= ...Z ORDER BY SystemModstamp, Id;
//     queryAll also returns the recycle bin's records (IsDeleted = true). An unknown field is 400 INVALID_FIELD, an unknown
//     object INVALID_TYPE, anything else outside the subset MALFORMED_QUERY. Pages hold
//     "Sforce-Query-Options: batchSize=N" records, N brought into Salesforce's 200..2000
//     (default 2000).
//   - /services/data/vNN.N/sobjects/{Lead|Contact|Account}[/{id}] — create (201), get,
//     update (204), delete (204); upsert PATCH .../{Prospect_Id__c}/{value} (201/200/300).
//     A deleted record answers reads with NOT_FOUND and writes with ENTITY_IS_DELETED;
//     a converted Lead refuses updates with CANNOT_UPDATE_CONVERTED_LEAD. Lead, Contact and
//     Account carry SystemModstamp, which every write moves: create, update, upsert,
//     conversion, delete (API or control; a deleted record's SystemModstamp is its
//     deletion time). They carry the audit fields CreatedById and LastModifiedById too:
//     the user of the token that wrote the record (the integration user for client
//     credentials, the JWT's subject), PersonUserID for control operations and seeds.
//     Lead and Contact carry the read-only MasterRecordId: the winner's id on a record a
//     merge deleted, null on every other record (see Merge and undelete below). A change of
//     a tracked field of either is recorded in its field history (see Field history below).
//   - GET /services/data/vNN.N/sobjects/{Lead|Contact|Account}/updated/?start=..&end=.. →
//     {"ids":[..],"latestDateCovered":".."}: the live records whose SystemModstamp lies in
//     [start, latestDateCovered), where latestDateCovered is end, or the current minute if
//     end is later. GET .../deleted/?start=..&end=.. → {"deletedRecords":[{"id","deletedDate"}],
//     "earliestDateAvailable","latestDateCovered"}: the records deleted in that span within
//     the last 15 days (earliestDateAvailable is now less 15 days, to the minute). start and
//     end are ISO 8601 with an offset or Z (2026-05-06T12:00:00%2B00:00, Salesforce's own
//     ...00.000+0000 too), URL-encoded, their seconds ignored; a missing one is 400
//     MISSING_ARGUMENT; an unparseable one (an unencoded "+" arrives as a space), a start
//     not before end (to the minute) or more than 30 days back is 400
//     INVALID_REPLICATION_DATE. One API call each; no EXCEEDED_ID_LIMIT.
//   - POST /services/data/vNN.N/composite — up to 25 subrequests (5 queries or sObject
//     Collections), @{ref.path} references, allOrNone rollback (which also rolls back a
//     collection subrequest with a failed record); counts as one API call.
//   - sObject Collections, /services/data/vNN.N/composite/sobjects (also as composite
//     subrequests), one API call each: POST creates and PATCH updates {"allOrNone":..,
//     "records":[..]}, each record with attributes.type (Lead, Contact, Account; mixed, in at
//     most 10 runs of one type) and, to update, its id (one without fails alone with
//     MISSING_ARGUMENT; one with an Id in a create fails with INVALID_FIELD); PATCH
//     .../composite/sobjects/{SObject}/Prospect_Id__c upserts by each record's value
//     (results add "created"); DELETE ...?ids=..&allOrNone=..; GET .../{SObject}?ids=..&fields=..
//     or POST there {"ids":[..],"fields":[..]} (≤ 2,000; fields optional) retrieve, null for
//     an id that is malformed, of another type, unknown or deleted. Writes take ≤ 200
//     records (else 400 EXCEEDED_ID_LIMIT), run in order and answer 200 with one result
//     per record, [{"id":..,"success":true,"errors":[]},{"success":false,"errors":[{"statusCode":
//     ..,"message":..,"fields":[..]}]}] (a failed create has no id), each record failing as it
//     would alone; with allOrNone one failure undoes all and the others report
//     ALL_OR_NONE_OPERATION_ROLLED_BACK. A missing or unknown attributes.type is 400
//     INVALID_TYPE, more than 10 runs 400 INVALID_BATCH_REQUEST (code unconfirmed).
//     Sforce-Auto-Assign applies to every Lead of the request.
//   - /api/v5/objects/prospects[/{id}] and /api/v5/objects/users[/{id}] — fields is
//     mandatory on reads; queries take orderBy, limit (≤1000), deleted, the
//     createdAt*/updatedAt* (After, AfterOrEqualTo, Before, BeforeOrEqualTo) and
//     idGreaterThan/idLessThan[OrEqualTo] filters, email (compared as One prospect per
//     email compares, ASCII letters without case), and page tokens. Every request needs
//     Pardot-Business-Unit-Id: BusinessUnitID; more than 5 in flight per token → 429 code 66.
//     The CRM ids (salesforceId, salesforceLeadId, salesforceContactId) are read-only, as
//     the v5 prospect object lists them (AE's own connector sets them): a write is code 180.
//     A prospect is assigned through the write-only userId (an AE user) or salesforceOwnerId
//     (the AE user of that Salesforce user), one assignment per request (else code 154).
//     The business unit does not allow multiple prospects with the same email (AMPSEA off,
//     EngagementSettings): see One prospect per email below.
//   - POST /api/v5/objects/prospects/do/undelete {"email":".."} — the record action
//     prospect-v5 lists as "Undelete (Record in deleted state with Latest Activity At by
//     Email)" (ability Prospects > Delete; there is no .../prospects/{id}/do/undelete, which
//     answers 400 code 205 like any other action). It restores the most recently updated
//     prospect in the recycle bin with that email (compared as below) and moves its
//     updatedAt; it answers 200 with the fields asked for, or {"id":..}. The operation table
//     is all the docs show of it: the argument's name and the answer are the emulator's
//     (UNCONFIRMED). No such prospect is 404 code 4 "Invalid prospect email address"; a
//     missing, mistyped or unknown argument 400 code 207, 206 or 208; without AMPSEA, an
//     email a live prospect has 400 code 54.
//   - POST /api/v5/objects/prospects/do/upsertLatestByEmail {"matchEmail":"..","prospect":{..},
//     "fields":[".."],"secondaryDeletedSearch":bool} — the record action prospect-v5 lists as
//     "Upsert (Record with Latest Activity At by Email)" (ability Prospects > Create), v5's one
//     idempotent write ("Transitioning to V5?": it "will find the most recently updated
//     prospect by the email supplied and upsert that record. If a record with that email does
//     not exist, one will be created"). The live prospect with matchEmail (compared as below)
//     updated most recently is written with prospect, a create's body (writable fields,
//     userId or salesforceOwnerId; an email there becomes the found prospect's new email);
//     with none, one is created with matchEmail unless prospect gives an email. A deleted
//     prospect with matchEmail is restored and written instead: without AMPSEA always (the
//     email is still its own, as for a create), with AMPSEA when secondaryDeletedSearch
//     (default true) asks for it, the most recently updated first. The answer is 200 with
//     fields (the names to show, as in a read; absent or [] gives {"id":..}), whether the
//     prospect was found, restored or made: a client tells a creation by createdAt. The body's
//     names are those the docs and public clients use; the answer's status and shape are the
//     emulator's (UNCONFIRMED). Refusals: a missing, mistyped or unknown argument 400 code
//     207, 206 or 208; an invalid matchEmail or email code 4; prospect's fields as a create's
//     or an update's (180, 154, 10, 9, 54); an unknown name in fields 224.
//
// Account Engagement errors follow its v5 error-code reference
// (developer.salesforce.com/docs/marketing/pardot/guide/error-codes), all with HTTP 400:
// an email that is not of the form AE checks (1–64 characters, @, a domain, a dot, a 2–13
// character ending, at most 255 in all) on create or update is code 4 "Invalid prospect
// email address"; a name in fields that cannot be read is 224; a body property that cannot
// be written is 180; a value of the wrong type is 154; a timestamp filter holding a space
// (a "+" offset sent without URL-encoding it as %2B) is 7 "Invalid timestamp". Replies to
// real requests have been seen giving 51 and 154 for unknown names instead
// (pardot/api-docs#235), so clients should not tell these codes apart.
//
// # One prospect per email
//
// By default the business unit does not allow multiple prospects with the same email
// address (AMPSEA off), the kind the product targets; emails are compared trimmed of white
// space and without case. A create whose email a live prospect has answers 400 {"code":9,
// "message":"A prospect with the specified email address already exists"}; an update
// (PATCH) giving a prospect the email of another live prospect answers 400 {"code":54,
// "message":"Email address is already in use"}; nothing is written. Both codes and words
// are the v5 error-code reference's (developer.salesforce.com/docs/marketing/pardot/guide/
// error-codes: 9 "... can occur when a create request with the same email address is
// submitted more than one time", 54 "Email address is already being used by other
// prospect"); which one v5 sends for which write, and the HTTP status (400, as for the
// other invalid bodies), are not documented. Deleted prospects do not block a create: the
// create restores the prospect in the recycle bin instead (201, its id, the values sent
// written over it), as Pardot describes v3's create (pardot/api-docs#54: "create will also
// unarchive a deleted prospect") and Help "Remove a Prospect from the Recycle Bin"
// (mktg.pardot_what_removes_prospect_from_recycle_bin) a manual add, in business units
// without AMPSEA; an update may take a deleted prospect's email. With AMPSEA on
// (PUT /emulator/engagement-settings {"allowMultipleProspectsPerEmail":true}) every create
// makes a prospect and no email is checked ("Transitioning to V5?": "If AMPSEA is enabled
// and you call the create API with the same email address multiple times, each call
// creates a prospect").
//
// # Merge and undelete
//
// Salesforce merges Leads and Contacts in its UI and through the SOAP API's merge(), up to
// three records at once; REST has no merge call, so the emulator has a control for it.
// Through REST a merge shows as SOAP merge() and the Object Reference (Lead, Contact:
// MasterRecordId) describe it: each merged-away record is deleted with MasterRecordId
// holding the id of the record kept, seen by queryAll (not query; a GET is NOT_FOUND) and
// listed by .../deleted/; the winner is updated (the values picked for it, SystemModstamp,
// LastModifiedDate, LastModifiedById the person). Converted Leads, deleted or unknown
// records and records of two objects are refused. Undelete (the UI's, or SOAP undelete())
// makes the record live again, SystemModstamp moving, so it is in .../updated/ for the
// span of its restore. On MasterRecordId the undelete() page is silent ("You can undelete
// records that were deleted as the result of a merge, but the child objects are
// reparented, which can't be undone"); the Object Reference defines it as the kept
// record's id "if this record was deleted as the result of a merge" and null "if this
// record was deleted for any other reason, or hasn't been deleted": a restored record is
// not deleted, so the emulator clears it. The emulator keeps no deletion log, so a
// restored record drops out of .../deleted/ for every span, its deletion included; Get
// Deleted Records does not say whether Salesforce still lists a deletion that was undone
// (treat an id both deleted and updated as live if it reads back). Sources, under
// developer.salesforce.com/docs/atlas.en-us.api.meta/: api/sforce_api_calls_merge.htm,
// api/sforce_api_calls_undelete.htm, api/sforce_api_calls_queryall.htm, and the Object
// Reference's sforce_api_objects_lead.htm and sforce_api_objects_contact.htm.
//
// # Field history
//
// Salesforce's Field History Tracking records each change of a tracked field in the
// record's history object, LeadHistory or ContactHistory (Object Reference
// "StandardObjectNameHistory"; docs/salesforce.md "Field history"), which SOQL reads like any
// object: SELECT LeadId, Field, CreatedDate FROM LeadHistory WHERE LeadId IN (..) AND Field
// IN (..) ORDER BY CreatedDate DESC. The emulator keeps them read-only with Id (prefix 017),
// LeadId or ContactId, Field (the field's API name, "Title"), OldValue and NewValue (text,
// null for an empty value), CreatedDate, CreatedById and IsDeleted. Every update that gives
// a tracked field another value than it had (API: update, upsert, collections, composite;
// controls: merge, conversion) adds a row: CreatedDate is the write's LastModifiedDate to
// the second ("The Field History Tracking timestamp is precise to a second"), CreatedById
// the writer (as LastModifiedById). A create adds none (the emulator has no "created" rows),
// nor does a write of the same value. Deleting the record moves its history rows to the
// recycle bin (IsDeleted, seen by queryAll only), restoring it brings them back; both are
// the emulator's reading of IsDeleted's description. A rolled-back write leaves no row.
//
// Which fields are tracked is a setting (FieldHistory, persisted with the data; Reset
// restores it): by default FirstName, LastName, Company, Title, Phone and Email of Lead and
// the same but Company of Contact. PUT /emulator/field-history replaces the lists of the
// objects it names and keeps the others'; an empty list stops tracking for its object, whose
// history object then answers with the rows it already has (what Salesforce answers once an
// object's tracking is off is not documented). Only writable fields can be tracked, at most
// 20 an object, as Salesforce allows; anything else is 400 {"error":".."}. Not modelled:
// DataType, the second row Salesforce adds for a reference field (names besides ids),
// retention (18 months, 24 through the API), and access: every token may read the history.
//
// Every /services/data/vNN.N response carries Sforce-Limit-Info, and every /api/v5 answer to a
// request with X-Return-Api-Usage: 1 carries x-api-usage: USED/MAX; once Options.DailyAPILimit
// is spent the answer is 403 REQUEST_LIMIT_EXCEEDED (AE: 429 code 122 after AEDailyLimit).
// Usage starts again when the UTC day changes. The limits control changes both allowances
// and today's usage at run time, so a test can reach a limit mid-run and lift it again.
//
// Leads written with Sforce-Auto-Assign absent, TRUE or a rule id get their owner from the
// active assignment rule (round-robin over users, or a queue); FALSE never applies it.
// Without a rule and without OwnerId the owner is IntegrationUserID.
//
// # Controls
//
// Each control exists in Go and over HTTP (JSON bodies are the Go structs):
//
//	POST   /emulator/reset                 Reset: wipe data, counters, faults, rules, limits
//	POST   /emulator/seed                  Seed: load the sample data (see the constants)
//	GET    /emulator/faults                Faults: the current Faults (with the remaining Next* counts)
//	PUT    /emulator/faults                SetFaults (rules included; see Faults below)
//	GET    /emulator/counters              Counters (requests, token requests, injected faults)
//	POST   /emulator/counters/reset        ResetCounters (also restarts daily usage)
//	GET|PUT /emulator/assignment-rule      SetAssignmentRule {"mode":"round-robin","userIds":[...]}
//	GET|PUT /emulator/duplicate-rule       SetDuplicateRule {"leadEmail":true}
//	GET    /emulator/limits               Limits {"dailyApiLimit":N,"aeDailyLimit":N,"apiUsed":N,"aeUsed":N}
//	PUT    /emulator/limits               SetLimits: the fields given, e.g. {"dailyApiLimit":10} or {"apiUsed":0,"aeUsed":0}
//	GET|PUT /emulator/token-ttl            TokenTTL, SetTokenTTL {"ttl":"3s"} (or nanoseconds; 0 restores Options.TokenTTL)
//	PUT    /emulator/prospects/{id}/crm    SetProspectCRM {"salesforceId":"[[crm_ignore_prospect]]"}
//	POST   /emulator/leads/{id}/convert    ConvertLead → {"contactId":"003…","accountId":"001…"}
//	DELETE /emulator/records/{id}          delete a Lead or Contact as a Salesforce user would
//	POST   /emulator/records/{id}/undelete UndeleteRecord: restore a Lead or Contact from the recycle bin
//	POST   /emulator/merge                 Merge {"object":"Lead","masterId":"00Q…","mergedIds":["00Q…"],"fields":{"Email":".."}}
//	GET|PUT /emulator/engagement-settings  SetEngagementSettings {"allowMultipleProspectsPerEmail":false}
//	GET|PUT /emulator/field-history        SetFieldHistory {"Lead":["Title",...],"Contact":[...]} ([] = tracking off)
//	DELETE /emulator/users/{id}            delete an Account Engagement user as an admin would (v5 users are read-only)
//
// A merge takes one or two mergedIds (three records in all) of the object named, all live;
// fields (optional) are written to the winner as an update would write them (validated
// alike: INVALID_FIELD, REQUIRED_FIELD_MISSING, the Lead duplicate rule, ...), without
// running the assignment rule. Both merge and undelete are attributed to PersonUserID.
// Their refusals are 400 {"error":".."} (404 for an unknown id), Salesforce's status code
// first where it has one: ENTITY_IS_DELETED, CANNOT_UPDATE_CONVERTED_LEAD, UNDELETE_FAILED
// (a live record). Related records are not reparented (the emulator has none but
// Lead.ConvertedContactId, which a Contact merge leaves as it was).
//
// Lowering a daily allowance to today's usage (or below) makes the next calls answer 403
// REQUEST_LIMIT_EXCEEDED (Salesforce) or 429 code 122 (AE); raising it, or setting the usage
// back to 0, lets them pass, without touching the request counters. The CRM control writes
// the fields the API refuses (code 180), as AE's own connector would: a field given as ""
// is cleared, one left out is kept, and the prospect's updatedAt moves; a deleted or
// unknown prospect is 404. Reset also restores the Options' limits and token lifetime.
//
// # Faults
//
// Faults are off by default and never touch /emulator/* or the version list; the token
// endpoint is affected only when a Match selects it. Match is "substring" or "METHOD
// substring" of the URL path; with Nested it also applies to what a Salesforce batch
// request carries: a composite request's subrequests, and the records of an sObject
// Collections write, each seen as if sent alone ("POST /services/data/vNN.N/sobjects/Lead"),
// so "POST /sobjects/Lead" with Nested targets Lead creates whichever way they arrive; the
// whole batch request then takes the fault. Rates are probabilities, rolled once per rule
// and request against the rates laid end to end, so each kind fires at its own rate (when
// they add up to 1 at most). The Next* fields fail exactly the next N matching requests
// (first NextDrop, then NextDropAfter, NextRateLimit, Next500, Next503, NextLockRow). A
// drop closes the connection before processing; a drop-after commits the request and then
// closes the connection without answering (the hijacked connection is closed), which is
// how a client learns that a timed-out write may have happened. Note that Go's
// http.Transport silently retries idempotent requests (GET) on a reused connection that
// was closed, so drop tests should use writes or fresh connections. On AE paths, rate-limit
// faults answer 429 code 66 and lock-row faults 409 code 62; on the token endpoint, both
// become its 500 and 503.
//
// A Faults is a first rule followed by its Rules (depth first). Every rule whose Match
// applies to a request adds its Latency, and a spike (Spike, with probability SpikeRate);
// the first of them whose Next* counters or dice fire decides the fault. The reliability
// suite's mix, on both APIs at once:
//
//	PUT /emulator/faults
//	{"seed":42,"rules":[
//	  {"match":"POST /sobjects/Lead","nested":true,"dropAfterRate":0.03},
//	  {"rate503":0.10,"rateLockRow":0.05,"rate500":0.02,"dropRate":0.02,
//	   "rateLimitRate":0.02,"spikeRate":0.01,"spike":"2s"}]}
//
// The dice start from Options.FaultSeed (random when 0) and again from Faults.Seed when
// one is set, so a run making the same requests in the same order meets the same faults.
// Counters().Faults counts what was injected by "API kind" (API salesforce, engagement or
// token; kind drop, drop-after, rate-limit, 500, 503, lock-row or spike): {"salesforce
// 503":12,"engagement drop":2,...}.
//
// # Not modelled
//
// The emulator knowingly leaves out:
//   - JWT signatures: an assertion's signature is not verified (there is no certificate
//     to check it against), nor are connected-app policies, scopes, IP ranges or pre-
//     authorised profiles; client credentials always run as IntegrationUserID.
//   - Security: no profiles, permission sets, field-level security or sharing; every
//     token sees and may write every record and field.
//   - Automation: no triggers, flows, workflow or validation rules, and no duplicate rules
//     but the Lead email one (not run on undelete); only Lead assignment rules, in the two
//     shapes above.
//   - SOQL beyond the subset above: no relationship fields or subqueries, aggregates,
//     LIKE, INCLUDES, date literals, FOR UPDATE; only Lead, Contact, Account, User and the
//     Lead and Contact field histories, with the fields the sync uses (no custom fields but
//     Prospect_Id__c).
//   - The rest of the REST API: describe, composite/batch and tree,
//     Bulk API, and the resource list of /vNN.N/.
//   - Limits other than the daily ones and AE's 5 concurrent requests: no concurrent long
//     request cap, no URI or SOQL length caps, no per-minute AE limit.
//   - Account Engagement beyond prospects and users: no visitors, lists, custom fields,
//     record actions but undelete and upsertLatestByEmail, or imports; no lastActivityAt
//     (the most recently updated prospect stands for the latest active one); no read lag
//     (reads see writes at once); times are
//     shown at a fixed -05:00, not the account's time zone. assignedToId is still writable
//     (v5 lists it as the read side of an assignment; whether the real API accepts a write
//     is unconfirmed), besides the documented userId and salesforceOwnerId.
//   - AE's own Salesforce connector: nothing syncs between the two halves by itself.
//
// Data lives in SQLite (modernc.org/sqlite): a file when Options.DSN is set (WAL mode,
// kept across restarts) or a private in-memory database. Writes are serialised; the
// handler is safe for concurrent use. The = and IN terms on text and id fields that a
// WHERE requires through AND are passed to SQLite as a prefilter, so lookups by Email, Id
// or Prospect_Id__c use indexes; the whole WHERE is still evaluated in Go. AE queries are
// filtered, ordered and limited in SQL (indexes on createdAt and updatedAt).
package emulator
