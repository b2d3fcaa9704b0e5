// Package emulator is a local stand-in for the Salesforce REST API and the Account
// Engagement (Pardot) API v5, backed by SQLite. It speaks the wire formats of
// docs/domain.md §2–3 on one address, so the real clients can run against it unchanged.
// It shares no code with the clients: both are written from the documented formats, so they
// cannot agree on a mistake.
//
// An *Emulator is an http.Handler; the caller chooses the listener:
//
//	emu, err := emulator.New(emulator.Options{Seed: true}) // DSN "" = in-memory
//	srv := httptest.NewServer(emu)                          // or http.ListenAndServe(":8280", emu)
//
// # Endpoints
//
//   - POST /services/oauth2/token — client_credentials (ClientID/ClientSecret) or
//     jwt-bearer (RS256 JWT, iss=ClientID, sub=a User's Username, exp in the future; the
//     signature is not checked). Tokens expire after Options.TokenTTL.
//   - /services/data/vNN.N/query?q=SOQL (and queryAll, and query/<cursor>-<offset>) —
//     a SOQL subset: SELECT fields FROM Lead|Contact|User|Account [WHERE =, !=, <, <=, >, >=,
//     [NOT] IN, AND, OR, NOT, parentheses] [ORDER BY ... NULLS FIRST|LAST] [LIMIT] [OFFSET].
//     String equality is case-insensitive; page size follows "Sforce-Query-Options:
//     batchSize=N" (any N ≥ 1); anything else is 400 MALFORMED_QUERY.
//   - /services/data/vNN.N/sobjects/{Lead|Contact|Account}[/{id}] — create (201), get,
//     update (204), delete (204); upsert PATCH .../{Prospect_Id__c}/{value} (201/200/300).
//     A deleted record answers reads with NOT_FOUND and writes with ENTITY_IS_DELETED;
//     a converted Lead refuses updates with CANNOT_UPDATE_CONVERTED_LEAD.
//   - POST /services/data/vNN.N/composite — up to 25 subrequests (5 queries), @{ref.path}
//     references, allOrNone rollback; counts as one API call.
//   - /api/v5/objects/prospects[/{id}] and /api/v5/objects/users[/{id}] — fields is
//     mandatory on reads; queries take orderBy, limit (≤1000), deleted, the
//     createdAt*/updatedAt* (After, AfterOrEqualTo, Before, BeforeOrEqualTo) and
//     idGreaterThan/idLessThan[OrEqualTo] filters, and page tokens. Every request needs
//     Pardot-Business-Unit-Id: BusinessUnitID; more than 5 in flight per token → 429 code 66.
//
// Every /services/data response carries Sforce-Limit-Info; once Options.DailyAPILimit is
// spent the answer is 403 REQUEST_LIMIT_EXCEEDED (AE: 429 code 122 after AEDailyLimit).
// Usage starts again when the UTC day changes.
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
//	GET    /emulator/faults                current Faults (with the remaining Next* counts)
//	PUT    /emulator/faults                SetFaults
//	GET    /emulator/counters              Counters
//	POST   /emulator/counters/reset        ResetCounters (also restarts daily usage)
//	GET|PUT /emulator/assignment-rule      SetAssignmentRule {"mode":"round-robin","userIds":[...]}
//	GET|PUT /emulator/duplicate-rule       SetDuplicateRule {"leadEmail":true}
//	GET|PUT /emulator/limits               {"dailyApiLimit":N,"aeDailyLimit":N} (GET adds usage)
//	POST   /emulator/leads/{id}/convert    ConvertLead → {"contactId":"003…","accountId":"001…"}
//	DELETE /emulator/records/{id}          delete a Lead or Contact as a Salesforce user would
//
// # Faults
//
// Faults are off by default and never touch /emulator/*; the token endpoint is affected
// only when Faults.Match selects it. Match is "substring" or "METHOD substring" of the URL
// path. Rates are probabilities; the Next* fields fail exactly the next N matching requests
// (first NextDrop, then NextDropAfter, NextRateLimit, Next500, Next503, NextLockRow).
// A drop closes the connection before processing; a drop-after commits the request and
// then closes the connection without answering (the hijacked connection is closed), which
// is how a client learns that a timed-out write may have happened. Note that Go's
// http.Transport silently retries idempotent requests (GET) on a reused connection that
// was closed, so drop tests should use writes or fresh connections. On AE paths,
// NextRateLimit answers 429 code 66 and lock-row faults answer 409 code 62.
//
// Data lives in SQLite (modernc.org/sqlite): a file when Options.DSN is set (WAL mode,
// kept across restarts) or a private in-memory database. Writes are serialised; the
// handler is safe for concurrent use. The = and IN terms on text and id fields that a
// WHERE requires through AND are passed to SQLite as a prefilter, so lookups by Email, Id
// or Prospect_Id__c use indexes; the whole WHERE is still evaluated in Go. AE queries are
// filtered, ordered and limited in SQL (indexes on createdAt and updatedAt).
package emulator
