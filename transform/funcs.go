package transform

import (
	"slices"
	"text/template"

	"github.com/Masterminds/sprig/v3"
)

// vsoAllowedSprigFuncs is VSO's allow-list, copied verbatim from
// hashicorp/vault-secrets-operator template/funcs.go (allowedSprigFuncs, the
// version that includes sha512sum; 179 names). It is a subset of
// sprig.HermeticTxtFuncMap: sprig's hermetic map already drops env, expandenv,
// getHostByName, now, date*, html* dates, rand{AlphaNum,Alpha,Ascii,Numeric,Bytes}
// and uuidv4, and VSO drops the crypto generators and a few more on top.
//
// Do not edit this list to change what templates may call: edit removedFuncs.
var vsoAllowedSprigFuncs = []string{
	"abbrev",
	"abbrevboth",
	"add",
	"add1",
	"add1f",
	"addf",
	"adler32sum",
	"ago",
	"all",
	"any",
	"append",
	"atoi",
	"b32dec",
	"b32enc",
	"b64dec",
	"b64enc",
	"base",
	"bcrypt",
	"biggest",
	"buildCustomCert",
	"camelcase",
	"cat",
	"ceil",
	"chunk",
	"clean",
	"coalesce",
	"compact",
	"concat",
	"contains",
	"deepCopy",
	"deepEqual",
	"default",
	"dict",
	"dig",
	"dir",
	"div",
	"divf",
	"duration",
	"durationRound",
	"empty",
	"ext",
	"fail",
	"first",
	"float64",
	"floor",
	"fromJson",
	"get",
	"has",
	"hasKey",
	"hasPrefix",
	"hasSuffix",
	"htpasswd",
	"indent",
	"initial",
	"initials",
	"int",
	"int64",
	"isAbs",
	"join",
	"kebabcase",
	"keys",
	"kindIs",
	"kindOf",
	"last",
	"list",
	"lower",
	"max",
	"maxf",
	"merge",
	"mergeOverwrite",
	"min",
	"minf",
	"mod",
	"mul",
	"mulf",
	"mustAppend",
	"mustChunk",
	"mustCompact",
	"mustDeepCopy",
	"mustFirst",
	"mustFromJson",
	"mustHas",
	"mustInitial",
	"mustLast",
	"mustMerge",
	"mustMergeOverwrite",
	"mustPrepend",
	"mustPush",
	"mustRegexFind",
	"mustRegexFindAll",
	"mustRegexMatch",
	"mustRegexReplaceAll",
	"mustRegexReplaceAllLiteral",
	"mustRegexSplit",
	"mustRest",
	"mustReverse",
	"mustSlice",
	"mustToDate",
	"mustToJson",
	"mustToPrettyJson",
	"mustToRawJson",
	"mustUniq",
	"mustWithout",
	"nindent",
	"nospace",
	"omit",
	"osBase",
	"osClean",
	"osDir",
	"osExt",
	"osIsAbs",
	"pick",
	"pluck",
	"plural",
	"prepend",
	"push",
	"quote",
	"randInt",
	"regexFind",
	"regexFindAll",
	"regexMatch",
	"regexQuoteMeta",
	"regexReplaceAll",
	"regexReplaceAllLiteral",
	"regexSplit",
	"repeat",
	"replace",
	"rest",
	"reverse",
	"round",
	"semver",
	"semverCompare",
	"seq",
	"set",
	"sha1sum",
	"sha256sum",
	"sha512sum",
	"shuffle",
	"slice",
	"snakecase",
	"sortAlpha",
	"split",
	"splitList",
	"splitn",
	"squote",
	"sub",
	"subf",
	"substr",
	"swapcase",
	"ternary",
	"title",
	"toDecimal",
	"toJson",
	"toPrettyJson",
	"toRawJson",
	"toString",
	"toStrings",
	"trim",
	"trimAll",
	"trimPrefix",
	"trimSuffix",
	"trimall",
	"trunc",
	"tuple",
	"typeIs",
	"typeIsLike",
	"typeOf",
	"uniq",
	"unset",
	"until",
	"untilStep",
	"untitle",
	"upper",
	"urlJoin",
	"urlParse",
	"values",
	"without",
	"wrap",
	"wrapWith",
}

// removedFuncs are the functions vaultcmp never offers, with the reason. vaultcmp
// renders at Argo CD generate time, so the same inputs must give the same bytes
// (otherwise every manifest generation shows a diff and restarts workloads).
//
// The first group is in VSO's allow-list and is removed by vaultcmp; the second
// group is not in VSO's allow-list either and is listed so that a test keeps it
// out.
var removedFuncs = map[string]string{
	// In VSO's allow-list, removed here.
	"randInt":    "random number: a different value on every render",
	"shuffle":    "random permutation: a different value on every render",
	"bcrypt":     "random salt: a different hash on every render",
	"htpasswd":   "uses bcrypt with a random salt: a different line on every render",
	"ago":        "time.Since(now): depends on the wall clock",
	"mustToDate": "parses in the process's local time zone (TZ-dependent); its only use is with date functions that are not available",

	// Not in VSO's allow-list either (sprig's hermetic map or VSO drop them).
	"now":                      "wall clock",
	"date":                     "formats in the local time zone; with now, wall clock",
	"dateInZone":               "wall clock via now",
	"date_in_zone":             "wall clock via now",
	"dateModify":               "wall clock via now",
	"date_modify":              "wall clock via now",
	"mustDateModify":           "wall clock via now",
	"must_date_modify":         "wall clock via now",
	"htmlDate":                 "local time zone",
	"htmlDateInZone":           "wall clock via now",
	"toDate":                   "parses in the local time zone (TZ-dependent)",
	"unixEpoch":                "only useful with time values, which templates cannot get",
	"uuidv4":                   "random",
	"randAlphaNum":             "random",
	"randAlpha":                "random",
	"randAscii":                "random",
	"randNumeric":              "random",
	"randBytes":                "random",
	"randSeededNumeric":        "random stream; not offered by VSO",
	"genPrivateKey":            "random key material",
	"genCA":                    "random key material and the wall clock",
	"genCAWithKey":             "wall clock (validity) and random serial",
	"genSelfSignedCert":        "random key material and the wall clock",
	"genSelfSignedCertWithKey": "wall clock (validity) and random serial",
	"genSignedCert":            "random key material and the wall clock",
	"genSignedCertWithKey":     "wall clock (validity) and random serial",
	"derivePassword":           "not offered by VSO (crypto helper)",
	"encryptAES":               "random IV: a different ciphertext on every render",
	"decryptAES":               "not offered by VSO (crypto helper)",
	"env":                      "reads the process environment of the repo-server",
	"expandenv":                "reads the process environment of the repo-server",
	"getHostByName":            "DNS lookup: network access and time-dependent answers",
	"hello":                    "not offered by VSO",
}

// funcMap is the function map every template set gets; allowedFuncs its
// sorted names.
var (
	funcMap      template.FuncMap
	allowedFuncs []string
)

func init() {
	sprigFuncs := sprig.HermeticTxtFuncMap()
	funcMap = template.FuncMap{}
	for _, name := range vsoAllowedSprigFuncs {
		if _, removed := removedFuncs[name]; removed {
			continue
		}
		if f, ok := sprigFuncs[name]; ok {
			funcMap[name] = f
		} // a name missing from sprig is caught by TestFuncMap
	}
	// sprig's keys and values return map entries in Go's random map order.
	// Return them in sorted-key order instead: that is one of the orders sprig
	// may return, so every template that works with VSO still does, and the
	// output is stable.
	funcMap["keys"] = sortedKeys
	funcMap["values"] = sortedValues

	allowedFuncs = make([]string, 0, len(funcMap))
	for name := range funcMap {
		allowedFuncs = append(allowedFuncs, name)
	}
	slices.Sort(allowedFuncs)
}

// FuncMap returns a copy of the function map that templates get: VSO's
// allow-list of sprig's hermetic functions without the non-deterministic ones
// (see AllowedFuncs). Go's text/template built-ins (printf, index, len, eq,
// ...) are available in addition.
func FuncMap() template.FuncMap {
	m := make(template.FuncMap, len(funcMap))
	for k, v := range funcMap {
		m[k] = v
	}
	return m
}

// AllowedFuncs returns the sorted names of FuncMap.
func AllowedFuncs() []string {
	return slices.Clone(allowedFuncs)
}

// sortedKeys is sprig's keys with each dict's keys sorted.
func sortedKeys(dicts ...map[string]any) []string {
	k := []string{}
	for _, dict := range dicts {
		start := len(k)
		for key := range dict {
			k = append(k, key)
		}
		slices.Sort(k[start:])
	}
	return k
}

// sortedValues is sprig's values in sorted-key order.
func sortedValues(dict map[string]any) []any {
	values := []any{}
	for _, key := range sortedKeys(dict) {
		values = append(values, dict[key])
	}
	return values
}
