package seed

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// nameRule picks a realistic generator by column name. The first rule whose
// pattern matches the column name and whose classes include the column's
// class wins. docs/seed.md lists this table; keep them in step.
type nameRule struct {
	pattern *regexp.Regexp
	classes []class
	faker   string // the gofakeit function(s) behind it, for the docs
	gen     func(g *tableGen, c *colPlan) string
}

var textual = []class{cStr}

func rule(pattern string, classes []class, faker string, gen func(g *tableGen, c *colPlan) string) nameRule {
	return nameRule{pattern: regexp.MustCompile(pattern), classes: classes, faker: faker, gen: gen}
}

func pastWithin(g *tableGen, c *colPlan, d time.Duration) string {
	return g.timeText(c, epoch.Add(-time.Duration(g.r.Int64N(int64(d)))))
}

func futureWithin(g *tableGen, c *colPlan, d time.Duration) string {
	return g.timeText(c, epoch.Add(time.Duration(g.r.Int64N(int64(d)))))
}

const day = 24 * time.Hour

var statuses = []string{"active", "pending", "inactive", "revoked", "expired", "failed", "archived"}
var platforms = []string{"linux", "windows", "darwin", "freebsd"}
var algorithms = []string{"RSA", "ECDSA", "Ed25519"}
var eventTypes = []string{"certificate.issued", "certificate.renewed", "certificate.revoked", "agent.registered", "agent.heartbeat", "policy.changed"}

var (
	personTable  = regexp.MustCompile(`user|person|people|employee|member|customer|contact|author`)
	companyTable = regexp.MustCompile(`compan|org|issuer|vendor|supplier|tenant|account`)
)

var nameRules = []nameRule{
	rule(`email|e_mail`, textual, "Email", func(g *tableGen, c *colPlan) string { return fakeEmail(g.f) }),
	rule(`^(first_?name|given_name)$`, textual, "FirstName", func(g *tableGen, c *colPlan) string { return fakeFirstName(g.f) }),
	rule(`^(last_?name|surname|family_name)$`, textual, "LastName", func(g *tableGen, c *colPlan) string { return fakeLastName(g.f) }),
	rule(`^(full_?name|display_name|person|contact_name|owner(_name)?)$`, textual, "Name", func(g *tableGen, c *colPlan) string { return fakeName(g.f) }),
	rule(`^(user_?name|login|handle|actor|created_by|updated_by)$`, textual, "Username", func(g *tableGen, c *colPlan) string { return g.f.Username() }),
	rule(`company|organi[sz]ation|^org(_name)?$|vendor|issuer(_name)?$|supplier`, textual, "Company", func(g *tableGen, c *colPlan) string { return fakeCompany(g.f) }),
	rule(`host_?name|^host$|fqdn`, textual, "Noun + DomainName", func(g *tableGen, c *colPlan) string {
		return fmt.Sprintf("%s-%d.%s", strings.ToLower(g.f.Noun()), g.r.IntN(100), g.f.DomainName())
	}),
	rule(`common_name|^cn$|san$|subject`, textual, "DomainName", func(g *tableGen, c *colPlan) string {
		switch g.r.IntN(4) {
		case 0:
			return "*." + g.f.DomainName()
		case 1:
			return strings.ToLower(g.f.Noun()) + "." + g.f.DomainName()
		}
		return g.f.DomainName()
	}),
	rule(`domain`, textual, "DomainName", func(g *tableGen, c *colPlan) string { return g.f.DomainName() }),
	rule(`(^|_)(url|uri|website|link|href|endpoint)s?(_|$)`, textual, "URL", func(g *tableGen, c *colPlan) string { return g.f.URL() }),
	rule(`(^|_)ip(_?addr(ess)?)?$|ip_address|remote_addr`, []class{cStr, cInet}, "IPv4Address / IPv6Address", func(g *tableGen, c *colPlan) string {
		if g.r.IntN(8) == 0 {
			return g.f.IPv6Address()
		}
		return g.f.IPv4Address()
	}),
	rule(`(^|_)mac(_?addr(ess)?)?$`, []class{cStr}, "MacAddress", func(g *tableGen, c *colPlan) string { return g.f.MacAddress() }),
	rule(`serial|fingerprint|thumbprint`, textual, "hex bytes", func(g *tableGen, c *colPlan) string {
		if c.length > 0 && c.length < 47 {
			return hexBytes(g, c.length/2, "")
		}
		return hexBytes(g, 16, ":")
	}),
	rule(`pem|certificate$|^cert$|_cert$|public_key|private_key|^csr$|chain`, textual, "PEM-like base64 blob", func(g *tableGen, c *colPlan) string {
		kind := "CERTIFICATE"
		if strings.Contains(c.col.Name, "key") {
			kind = "PUBLIC KEY"
		}
		return pemBlob(g, kind)
	}),
	rule(`algorithm`, textual, "list: RSA, ECDSA, Ed25519", func(g *tableGen, c *colPlan) string { return pickSkewed(g, algorithms) }),
	rule(`status|state$`, textual, "list: active, pending, ...", func(g *tableGen, c *colPlan) string { return pickSkewed(g, statuses) }),
	rule(`platform|^os$`, textual, "list: linux, windows, ...", func(g *tableGen, c *colPlan) string { return pickSkewed(g, platforms) }),
	rule(`^(action|event|event_type|kind|type)$`, textual, "list: certificate.issued, ...", func(g *tableGen, c *colPlan) string { return pickSkewed(g, eventTypes) }),
	rule(`country_?code|^country$`, textual, "CountryAbr", func(g *tableGen, c *colPlan) string { return fakeCountryAbr(g.f) }),
	rule(`country`, textual, "Country", func(g *tableGen, c *colPlan) string { return fakeCountry(g.f) }),
	rule(`currency`, textual, "CurrencyShort", func(g *tableGen, c *colPlan) string { return g.f.CurrencyShort() }),
	rule(`phone|mobile`, textual, "Phone", func(g *tableGen, c *colPlan) string { return g.f.Phone() }),
	rule(`(^|_)city`, textual, "City", func(g *tableGen, c *colPlan) string { return fakeCity(g.f) }),
	rule(`street|address`, textual, "Street", func(g *tableGen, c *colPlan) string { return g.f.Street() }),
	rule(`zip|postal`, textual, "Zip", func(g *tableGen, c *colPlan) string { return g.f.Zip() }),
	rule(`version`, textual, "AppVersion", func(g *tableGen, c *colPlan) string { return g.f.AppVersion() }),
	rule(`colou?r`, textual, "SafeColor", func(g *tableGen, c *colPlan) string { return g.f.SafeColor() }),
	rule(`^sku$|code$`, textual, "pattern [A-Z]{3}-[0-9]{5}", func(g *tableGen, c *colPlan) string { return genRegex(g, `[A-Z]{3}-[0-9]{5}`) }),
	rule(`title|subject|headline`, textual, "JobTitle / Sentence", func(g *tableGen, c *colPlan) string { return g.f.JobTitle() }),
	rule(`desc|details|comment|note|message|body|summary|reason`, textual, "Sentence", func(g *tableGen, c *colPlan) string { return g.f.Sentence() }),
	rule(`product`, textual, "ProductName", func(g *tableGen, c *colPlan) string { return g.f.ProductName() }),
	rule(`^name$`, textual, "Company / Name / BuzzWord by table name", func(g *tableGen, c *colPlan) string {
		if g.plan.nameKind == "" {
			t := g.plan.t.Name
			switch {
			case personTable.MatchString(t):
				g.plan.nameKind = "person"
			case companyTable.MatchString(t):
				g.plan.nameKind = "company"
			case strings.Contains(t, "product"):
				g.plan.nameKind = "product"
			default:
				g.plan.nameKind = "thing"
			}
		}
		switch g.plan.nameKind {
		case "person":
			return fakeName(g.f)
		case "company":
			return fakeCompany(g.f)
		case "product":
			return g.f.ProductName()
		}
		return g.f.Adjective() + " " + g.f.BuzzWord()
	}),
	rule(`password|secret|token|hash`, textual, "Password", func(g *tableGen, c *colPlan) string {
		return g.f.Password(true, true, true, false, false, 24)
	}),
	// Numbers.
	rule(`price|amount|total|cost|balance|fee|salary`, []class{cNumeric, cMoney, cFloat}, "Price", func(g *tableGen, c *colPlan) string {
		return formatNumeric(g.f.Price(1, 2000), c.col.Precision, c.col.Scale)
	}),
	rule(`^age$`, []class{cInt}, "IntRange(18, 90)", func(g *tableGen, c *colPlan) string { return strconv.Itoa(g.f.IntRange(18, 90)) }),
	rule(`year`, []class{cInt}, "IntRange(1990, 2030)", func(g *tableGen, c *colPlan) string { return strconv.Itoa(g.f.IntRange(1990, 2030)) }),
	rule(`(^|_)port$`, []class{cInt}, "IntRange(1, 65535)", func(g *tableGen, c *colPlan) string { return strconv.Itoa(g.f.IntRange(1, 65535)) }),
	rule(`days`, []class{cInt}, "IntRange(1, 365)", func(g *tableGen, c *colPlan) string { return strconv.Itoa(g.f.IntRange(1, 365)) }),
	rule(`qty|quantity|count|^n_`, []class{cInt}, "IntRange(1, 100)", func(g *tableGen, c *colPlan) string { return strconv.Itoa(g.f.IntRange(1, 100)) }),
	rule(`priority|rank|level|score`, []class{cInt}, "IntRange(1, 10)", func(g *tableGen, c *colPlan) string { return strconv.Itoa(g.f.IntRange(1, 10)) }),
	rule(`percent|pct|ratio`, []class{cInt, cNumeric, cFloat}, "IntRange(0, 100)", func(g *tableGen, c *colPlan) string { return strconv.Itoa(g.f.IntRange(0, 100)) }),
	// Time: past for what happened, future for what expires; pairs are
	// ordered afterwards (see pairRules).
	rule(`deleted_at|archived_at|revoked_at`, []class{cTS, cTSTZ, cDate}, "past 1y (mostly NULL)", func(g *tableGen, c *colPlan) string { return pastWithin(g, c, 365*day) }),
	rule(`expires|expiry|valid_until|valid_to|not_after|due`, []class{cTS, cTSTZ, cDate}, "future 2y", func(g *tableGen, c *colPlan) string { return futureWithin(g, c, 730*day) }),
	rule(`last_seen|last_login|heartbeat|seen_at`, []class{cTS, cTSTZ, cDate}, "past 30d", func(g *tableGen, c *colPlan) string { return pastWithin(g, c, 30*day) }),
	rule(`birth|dob`, []class{cDate, cTS, cTSTZ}, "1950..2005", func(g *tableGen, c *colPlan) string {
		return g.timeText(c, time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(g.r.Int64N(int64(55*365*day)))))
	}),
	rule(`_at$|_on$|date|time|created|updated|not_before|valid_from`, []class{cTS, cTSTZ, cDate}, "past 3y", func(g *tableGen, c *colPlan) string { return pastWithin(g, c, 3*365*day) }),
}

// pairRules order two columns of a row the way real data is ordered; the
// second is derived from the first (not_after = not_before + 90..825 days).
var pairRules = []struct {
	first, second string
	min, max      time.Duration
}{
	{"created_at", "updated_at", 0, 400 * day},
	{"not_before", "not_after", 90 * day, 825 * day},
	{"valid_from", "valid_to", 30 * day, 730 * day},
	{"valid_from", "valid_until", 30 * day, 730 * day},
	{"starts_at", "ends_at", time.Hour, 90 * day},
	{"start_date", "end_date", day, 365 * day},
	{"started_at", "finished_at", time.Second, 6 * time.Hour},
	{"started_at", "completed_at", time.Second, 6 * time.Hour},
	{"issued_at", "expires_at", 30 * day, 730 * day},
	{"created_at", "deleted_at", day, 400 * day},
}

func findNameRule(rules []nameRule, c *colPlan) *nameRule {
	for i := range rules {
		r := &rules[i]
		if !r.pattern.MatchString(c.col.Name) {
			continue
		}
		for _, k := range r.classes {
			if k == c.class {
				return r
			}
		}
	}
	return nil
}
