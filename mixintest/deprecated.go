package mixintest

// The names below were settled for 1.0 (see CHANGELOG.md, "Names settled
// for 1.0"). The old names stay as aliases until 1.0 so that code written
// before then still builds; nothing in this module uses them.

// ClockHeaders is the old name of [ClockHeader].
//
// Deprecated: use ClockHeader. Kept until 1.0 so code written before the names
// settled still builds.
type ClockHeaders = ClockHeader

// ServerTimeHeader is the old name of [ClockHeaderServerTime].
//
// Deprecated: use ClockHeaderServerTime. Kept until 1.0 so code written before
// the names settled still builds.
const ServerTimeHeader = ClockHeaderServerTime

// DateHeader is the old name of [ClockHeaderDate].
//
// Deprecated: use ClockHeaderDate. Kept until 1.0 so code written before the
// names settled still builds.
const DateHeader = ClockHeaderDate

// BlazeAuthHTTP401 is the old name of [BlazeAuthFailureHTTP401].
//
// Deprecated: use BlazeAuthFailureHTTP401. Kept until 1.0 so code written
// before the names settled still builds.
const BlazeAuthHTTP401 = BlazeAuthFailureHTTP401

// BlazeAuthErrorFrame is the old name of [BlazeAuthFailureErrorFrame].
//
// Deprecated: use BlazeAuthFailureErrorFrame. Kept until 1.0 so code written
// before the names settled still builds.
const BlazeAuthErrorFrame = BlazeAuthFailureErrorFrame
