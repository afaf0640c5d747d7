/*
 * seed.c - deterministic, realistic test data (--seed SPEC, POST /__emu/seed).
 *
 * SPEC is a comma-separated list of counts: users, accounts, contacts, leads,
 * opportunities, contactroles, campaigns, members, tasks, events, invoices, queues.
 * queues=N (default 0) makes N queues (Group, Type 'Queue') and then gives a tenth of the
 * leads and a twentieth of the tasks and events a queue as owner; without it the data
 * is what it was before queues existed.
 * The same SPEC and rng give the same records and ids. Values mix ASCII and
 * Unicode names, empty fields and long text; references are consistent;
 * stamps are spread over 60 days with many rows sharing bulk-update stamps.
 * Rows go straight into SQLite (one transaction, prepared statements), so a
 * million leads take seconds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sfemu.h"

#define DAY_MS 86400000LL

typedef struct rng {
	uint64_t s;
} rng;

static uint64_t next(rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t below(rng *r, uint32_t n)
{
	return n ? (uint32_t)(((next(r) >> 32) * (uint64_t)n) >> 32) : 0;
}

static bool chance(rng *r, int percent)
{
	return below(r, 1000) < (uint32_t)(percent * 10);
}

#define PICK(r, a) (a[below(r, (uint32_t)(sizeof a / sizeof *a))])

static const char *first_names[] = {
    "James",   "Mary",	"John",	    "Patricia", "Robert", "Jennifer", "Michael", "Linda",
    "David",   "Sarah", "Daniel",   "Karen",	"Paul",	  "Nancy",    "Mark",	 "Lisa",
    "Kevin",   "Emily", "Brian",    "Anna",	"Olivia", "Noah",     "Liam",	 "Emma",
    "Lucas",   "Mia",	"Hugo",	    "Chloé",	"José",	  "Zoë",      "Søren",	 "Łukasz",
    "Ægir",    "Renée", "François", "Jürgen",	"Ngọc",	  "Hiroshi",  "Aiko",	 "Мария",
    "Дмитрий", "李",	"王芳",	    "Fatima",	"Ahmed",  "Priya",    "Raj",	 "Siobhán"};
static const char *last_names[] = {
    "Smith",	 "Johnson",  "Williams",     "Brown",	 "Jones",	  "Garcia", "Miller",
    "Davis",	 "Martinez", "Lopez",	     "Wilson",	 "Anderson",	  "Taylor", "Thomas",
    "Moore",	 "Martin",   "Lee",	     "Walker",	 "Hall",	  "Allen",  "Young",
    "King",	 "Wright",   "Scott",	     "O'Brien",	 "Müller",	  "Dubois", "Rossi",
    "Nguyễn",	 "Tanaka",   "Kowalski",     "Øster",	 "Иванов",	  "张",	    "Sánchez",
    "Bjørnsson", "D'Angelo", "van der Berg", "Al-Farsi", "Ó Súilleabháin"};
static const char *company_words[] = {
    "Acme",   "Globex",	  "Initech",	"Umbrella", "Stark",	"Wayne",
    "Wonka",  "Hooli",	  "Vandelay",	"Soylent",  "Tyrell",	"Cyberdyne",
    "Oscorp", "Aperture", "Black Mesa", "Massive",  "Blue Sun", "Gringotts",
    "Nordic", "Pacific",  "Atlas",	"Summit",   "Pioneer",	"Evergreen",
    "Crédit", "Société",  "Zürich",	"Kōbe",	    "Straße",	"Øresund"};
static const char *company_suffix[] = {"Inc.",	"LLC",	    "Ltd",   "GmbH", "S.A.", "Corp.",
				       "Group", "Holdings", "& Co.", "AG",   "K.K.", "Partners"};
static const char *domains[] = {"example.com", "example.org", "example.net", "mail.example.com",
				"corp.example.com"};
static const char *titles[] = {"CEO",	      "CTO",	  "VP Sales", "Marketing Manager",
			       "Engineer",    "Director", "Analyst",  "Consultant",
			       "Head of Ops", "Buyer",	  "Founder",  "Product Owner"};
static const char *cities[] = {"Paris",	  "Berlin",   "New York", "São Paulo", "Tokyo",	 "London",
			       "München", "Montréal", "Zürich",	  "Kraków",    "Austin", "Oslo"};
static const char *countries[] = {"France", "Germany", "USA",	      "Brazil", "Japan",
				  "UK",	    "Canada",  "Switzerland", "Poland", "Norway"};
static const char *lead_status[] = {"Open - Not Contacted", "Working - Contacted",
				    "Closed - Not Converted"};
static const char *sources[] = {"Web", "Phone Inquiry", "Partner Referral", "Purchased List",
				"Other"};
static const char *industries[] = {"Agriculture", "Banking",	"Chemicals",  "Education",
				   "Energy",	  "Finance",	"Healthcare", "Manufacturing",
				   "Retail",	  "Technology", "Other"};
static const char *ratings[] = {"Hot", "Warm", "Cold"};
static const char *stages[] = {"Prospecting",	       "Qualification",	     "Needs Analysis",
			       "Proposal/Price Quote", "Negotiation/Review", "Closed Won",
			       "Closed Lost"};
static const char *lorem =
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud "
    "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Ünïcödé ✓ ";

/* ---- an INSERT over every column of an object ---- */

typedef struct ins {
	emu *e;
	emu_object *o;
	sqlite3_stmt *st;
} ins;

static int ins_open(emu *e, ins *x, const char *obj)
{
	x->e = e;
	x->o = schema_object(&e->schema, obj);
	x->st = NULL;
	if (!x->o)
		return -1;
	buf b = {0};
	buf_printf(&b, "INSERT INTO \"%s\"(", x->o->name);
	for (int i = 0; i < x->o->nfields; i++)
		buf_printf(&b, "%s\"%s\"", i ? "," : "", x->o->fields[i].name);
	buf_puts(&b, ",\"_DeletedDate\") VALUES(");
	for (int i = 0; i <= x->o->nfields; i++)
		buf_puts(&b, i ? ",?" : "?");
	buf_puts(&b, ")");
	int rc = sqlite3_prepare_v2(e->db, b.p, -1, &x->st, NULL);
	buf_free(&b);
	return rc ? -1 : 0;
}

/* 1-based parameter of a field, 0 when the schema has no such field */
static int col(ins *x, const char *name)
{
	if (!x->o)
		return 0;
	if (!strcmp(name, "_DeletedDate"))
		return x->o->nfields + 1;
	for (int i = 0; i < x->o->nfields; i++)
		if (!strcmp(x->o->fields[i].name, name))
			return i + 1;
	return 0;
}

static void st_text(ins *x, int c, const char *s)
{
	if (c)
		sqlite3_bind_text(x->st, c, s, -1, SQLITE_STATIC); /* lives until ins_step */
}

static void st_int(ins *x, int c, int64_t v)
{
	if (c)
		sqlite3_bind_int64(x->st, c, v);
}

static void st_real(ins *x, int c, double v)
{
	if (c)
		sqlite3_bind_double(x->st, c, v);
}

static int ins_step(ins *x)
{
	int rc = sqlite3_step(x->st);
	sqlite3_reset(x->st);
	sqlite3_clear_bindings(x->st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static void ins_close(ins *x)
{
	sqlite3_finalize(x->st);
	x->st = NULL;
}

/* ---- shared generators ---- */

typedef struct gen {
	emu *e;
	rng r;
	int64_t now;
	int64_t bulk[64]; /* shared stamps of bulk updates */
	char (*users)[19];
	int nusers;
	char (*queues)[19];
	long nqueues;
} gen;

/* system columns: Id, stamps, creator; returns the stamp */
typedef struct sys_cols {
	int id, created, createdby, lmd, lmdby, stamp, deleted, deldate, owner;
} sys_cols;

static void sys_init(ins *x, sys_cols *c)
{
	c->id = col(x, "Id");
	c->created = col(x, "CreatedDate");
	c->createdby = col(x, "CreatedById");
	c->lmd = col(x, "LastModifiedDate");
	c->lmdby = col(x, "LastModifiedById");
	c->stamp = col(x, "SystemModstamp");
	c->deleted = col(x, "IsDeleted");
	c->deldate = col(x, "_DeletedDate");
	c->owner = col(x, "OwnerId");
}

static void sys_fill(gen *g, ins *x, sys_cols *c, char id[19], bool may_delete)
{
	store_new_id(g->e, x->o, id);
	st_text(x, c->id, id);
	int64_t stamp;
	uint32_t k = below(&g->r, 100);
	if (k < 25) /* a quarter of the rows share bulk-update stamps */
		stamp = g->bulk[below(&g->r, 64)];
	else if (k < 30) /* whole seconds, as many integrations write */
		stamp = (g->now - (int64_t)below(&g->r, 60 * 86400) * 1000);
	else
		stamp = g->now - (int64_t)(next(&g->r) % (uint64_t)(60 * DAY_MS));
	int64_t created = stamp - (int64_t)(next(&g->r) % (uint64_t)(300 * DAY_MS));
	int64_t lmd = stamp - (chance(&g->r, 20) ? (int64_t)below(&g->r, 3600000) : 0);
	if (lmd < created)
		lmd = created;
	const char *u = g->users[below(&g->r, (uint32_t)g->nusers)];
	st_int(x, c->created, created);
	st_text(x, c->createdby, u);
	st_int(x, c->lmd, lmd);
	st_text(x, c->lmdby, u);
	st_int(x, c->stamp, stamp);
	st_text(x, c->owner, g->users[below(&g->r, (uint32_t)g->nusers)]);
	bool del = may_delete && chance(&g->r, 1) && stamp > g->now - 14 * DAY_MS;
	st_int(x, c->deleted, del);
	if (del)
		st_int(x, c->deldate, stamp);
}

static void person(gen *g, const char **fn, const char **ln)
{
	*fn = chance(&g->r, 8) ? NULL : PICK(&g->r, first_names);
	*ln = PICK(&g->r, last_names);
}

static void email(gen *g, char *out, size_t n, const char *fn, const char *ln, uint64_t seq)
{
	char a[64] = "", b[64] = "";
	size_t k = 0;
	for (const char *p = fn ? fn : "x"; *p && k < 20; p++)
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
			a[k++] = (char)(*p | 0x20);
	a[k] = 0;
	k = 0;
	for (const char *p = ln; *p && k < 20; p++)
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
			b[k++] = (char)(*p | 0x20);
	b[k] = 0;
	snprintf(out, n, "%s.%s%llu@%s", *a ? a : "user", *b ? b : "person",
		 (unsigned long long)seq, PICK(&g->r, domains));
}

static void company(gen *g, char *out, size_t n)
{
	snprintf(out, n, "%s %s %s", PICK(&g->r, company_words), PICK(&g->r, company_words),
		 PICK(&g->r, company_suffix));
}

static void description(gen *g, ins *x, int c)
{
	uint32_t k = below(&g->r, 100);
	if (k < 80 || !c)
		return;
	buf b = {0};
	int reps = below(&g->r, 500) ? 1 : 20 + (int)below(&g->r, 60); /* rarely long text */
	for (int i = 0; i < reps; i++)
		buf_puts(&b, lorem);
	sqlite3_bind_text(x->st, c, b.p, (int)b.len, SQLITE_TRANSIENT);
	buf_free(&b);
}

static void phone(gen *g, char *out, size_t n)
{
	snprintf(out, n, "+1 (%03u) 555-%04u", 200 + below(&g->r, 700), below(&g->r, 10000));
}

/* ---- per object ---- */

static char (*ids_alloc(long n))[19]
{
	return calloc((size_t)(n ? n : 1), 19);
}

static int seed_users(gen *g, long n, char (**out)[19], int *nout)
{
	ins x;
	sys_cols s;
	if (ins_open(g->e, &x, "User"))
		return -1;
	sys_init(&x, &s);
	int cu = col(&x, "Username"), ce = col(&x, "Email"), cf = col(&x, "FirstName"),
	    cl = col(&x, "LastName"), cn = col(&x, "Name"), ca = col(&x, "Alias"),
	    cact = col(&x, "IsActive"), ctz = col(&x, "TimeZoneSidKey");
	char(*ids)[19] = calloc((size_t)n + 2, 19);
	snprintf(ids[0], 19, "%s", g->e->user_id);
	snprintf(ids[1], 19, "%s", g->e->crm_user_id);
	*out = ids;
	g->users = ids;
	g->nusers = 2;
	for (long i = 0; i < n; i++) {
		const char *fn, *ln;
		char em[160], name[200], alias[16];
		person(g, &fn, &ln);
		email(g, em, sizeof em, fn, ln, (uint64_t)i);
		sys_fill(g, &x, &s, ids[2 + i], false);
		st_text(&x, cu, em);
		st_text(&x, ce, em);
		st_text(&x, cf, fn);
		st_text(&x, cl, ln);
		snprintf(name, sizeof name, "%s%s%s", fn ? fn : "", fn ? " " : "", ln);
		st_text(&x, cn, name);
		snprintf(alias, sizeof alias, "u%ld", i % 10000000);
		st_text(&x, ca, alias);
		st_int(&x, cact, !chance(&g->r, 5));
		st_text(&x, ctz, "Europe/Paris");
		if (ins_step(&x)) {
			ins_close(&x);
			return -1;
		}
		g->nusers++;
	}
	ins_close(&x);
	*out = ids;
	*nout = g->nusers;
	return 0;
}

static int seed_queues(gen *g, long n, char (*ids)[19])
{
	ins x;
	sys_cols s;
	static const char *const teams[] = {"Inbound", "EMEA",	 "APAC",     "Partner",
					    "Web",     "Events", "Renewals", "Support"};
	g->queues = ids;
	g->nqueues = 0;
	if (!n)
		return 0;
	if (ins_open(g->e, &x, "Group"))
		return -1;
	sys_init(&x, &s);
	int cn = col(&x, "Name"), cd = col(&x, "DeveloperName"), ct = col(&x, "Type"),
	    ce = col(&x, "Email"), cs = col(&x, "DoesSendEmailToMembers");
	for (long i = 0; i < n; i++) {
		char name[64], dev[64], em[80];
		const char *team = teams[i % 8];
		sys_fill(g, &x, &s, ids[i], false);
		snprintf(name, sizeof name, "%s Leads %ld", team, i + 1);
		snprintf(dev, sizeof dev, "%s_Leads_%ld", team, i + 1);
		snprintf(em, sizeof em, "%s-leads-%ld@example.com", team, i + 1);
		em[0] = (char)(em[0] | 0x20);
		st_text(&x, cn, name);
		st_text(&x, cd, dev);
		st_text(&x, ct, "Queue");
		st_text(&x, ce, chance(&g->r, 50) ? em : NULL);
		st_int(&x, cs, 0);
		if (ins_step(&x))
			return ins_close(&x), -1;
		g->nqueues++;
	}
	ins_close(&x);
	return 0;
}

/* With queues seeded, some records are owned by one (only then: no random draw otherwise,
 * so specs without queues give the same data as before). */
static void queue_owner(gen *g, ins *x, sys_cols *s, int percent)
{
	if (g->nqueues && chance(&g->r, percent))
		st_text(x, s->owner, g->queues[below(&g->r, (uint32_t)g->nqueues)]);
}

static int seed_accounts(gen *g, long n, char (*ids)[19])
{
	ins x;
	sys_cols s;
	if (ins_open(g->e, &x, "Account"))
		return -1;
	sys_init(&x, &s);
	int cn = col(&x, "Name"), ct = col(&x, "Type"), ci = col(&x, "Industry"),
	    cp = col(&x, "Phone"), cw = col(&x, "Website"), cc = col(&x, "BillingCity"),
	    cco = col(&x, "BillingCountry"), ce = col(&x, "NumberOfEmployees"),
	    cr = col(&x, "AnnualRevenue"), cd = col(&x, "Description"), cpar = col(&x, "ParentId");
	static const char *types[] = {"Prospect", "Customer - Direct", "Customer - Channel",
				      "Partner", "Other"};
	for (long i = 0; i < n; i++) {
		char name[200], ph[40], web[120];
		company(g, name, sizeof name);
		sys_fill(g, &x, &s, ids[i], true);
		st_text(&x, cn, name);
		if (!chance(&g->r, 20))
			st_text(&x, ct, PICK(&g->r, types));
		if (!chance(&g->r, 15))
			st_text(&x, ci, PICK(&g->r, industries));
		if (!chance(&g->r, 30)) {
			phone(g, ph, sizeof ph);
			st_text(&x, cp, ph);
		}
		snprintf(web, sizeof web, "https://www.account%ld.example.com", i);
		st_text(&x, cw, web);
		st_text(&x, cc, PICK(&g->r, cities));
		st_text(&x, cco, PICK(&g->r, countries));
		if (!chance(&g->r, 25))
			st_int(&x, ce, 1 + below(&g->r, 50000));
		if (!chance(&g->r, 40))
			st_real(&x, cr, (double)(below(&g->r, 100000) * 1000));
		if (i > 10 && chance(&g->r, 5))
			st_text(&x, cpar, ids[below(&g->r, (uint32_t)(i - 1))]);
		description(g, &x, cd);
		if (ins_step(&x))
			return ins_close(&x), -1;
	}
	ins_close(&x);
	return 0;
}

static int seed_people(gen *g, const char *obj, long n, char (*ids)[19], char (*accounts)[19],
		       long nacc)
{
	ins x;
	sys_cols s;
	bool lead = !strcmp(obj, "Lead");
	if (ins_open(g->e, &x, obj))
		return -1;
	sys_init(&x, &s);
	int cf = col(&x, "FirstName"), cl = col(&x, "LastName"), cn = col(&x, "Name"),
	    cc = col(&x, "Company"), ce = col(&x, "Email"), cp = col(&x, "Phone"),
	    cm = col(&x, "MobilePhone"), ct = col(&x, "Title"), cs = col(&x, "Status"),
	    csrc = col(&x, "LeadSource"), ci = col(&x, "Industry"), cr = col(&x, "Rating"),
	    ccity = col(&x, lead ? "City" : "MailingCity"),
	    cco = col(&x, lead ? "Country" : "MailingCountry"), cacc = col(&x, "AccountId"),
	    copt = col(&x, "HasOptedOutOfEmail"), cconv = col(&x, "IsConverted"),
	    cd = col(&x, "Description"), cemp = col(&x, "NumberOfEmployees");
	for (long i = 0; i < n; i++) {
		const char *fn, *ln;
		char em[200], name[200], comp[200], ph[40];
		person(g, &fn, &ln);
		sys_fill(g, &x, &s, ids[i], true);
		if (lead)
			queue_owner(g, &x, &s, 10);
		st_text(&x, cf, fn);
		st_text(&x, cl, ln);
		snprintf(name, sizeof name, "%s%s%s", fn ? fn : "", fn ? " " : "", ln);
		st_text(&x, cn, name);
		if (!chance(&g->r, 10)) {
			email(g, em, sizeof em, fn, ln, (uint64_t)i);
			st_text(&x, ce, em);
		}
		if (!chance(&g->r, 35)) {
			phone(g, ph, sizeof ph);
			st_text(&x, cp, ph);
		}
		if (chance(&g->r, 30)) {
			phone(g, ph, sizeof ph);
			st_text(&x, cm, ph);
		}
		if (!chance(&g->r, 25))
			st_text(&x, ct, PICK(&g->r, titles));
		if (lead) {
			company(g, comp, sizeof comp);
			st_text(&x, cc, comp);
			st_text(&x, cs, PICK(&g->r, lead_status));
			if (!chance(&g->r, 20))
				st_text(&x, ci, PICK(&g->r, industries));
			if (!chance(&g->r, 50))
				st_text(&x, cr, PICK(&g->r, ratings));
			if (chance(&g->r, 40))
				st_int(&x, cemp, 1 + below(&g->r, 5000));
			st_int(&x, cconv, 0);
		} else if (nacc && !chance(&g->r, 10)) {
			st_text(&x, cacc, accounts[below(&g->r, (uint32_t)nacc)]);
		}
		if (!chance(&g->r, 30))
			st_text(&x, csrc, PICK(&g->r, sources));
		st_text(&x, ccity, chance(&g->r, 20) ? NULL : PICK(&g->r, cities));
		st_text(&x, cco, chance(&g->r, 20) ? NULL : PICK(&g->r, countries));
		st_int(&x, copt, chance(&g->r, 5));
		description(g, &x, cd);
		if (ins_step(&x))
			return ins_close(&x), -1;
	}
	ins_close(&x);
	return 0;
}

static int seed_campaigns(gen *g, long n, char (*ids)[19])
{
	ins x;
	sys_cols s;
	if (ins_open(g->e, &x, "Campaign"))
		return -1;
	sys_init(&x, &s);
	int cn = col(&x, "Name"), ct = col(&x, "Type"), cs = col(&x, "Status"),
	    csd = col(&x, "StartDate"), ced = col(&x, "EndDate"), ca = col(&x, "IsActive"),
	    cnl = col(&x, "NumberOfLeads"), cnc = col(&x, "NumberOfContacts");
	static const char *types[] = {"Conference", "Webinar", "Email", "Advertisement", "Other"};
	static const char *st[] = {"Planned", "In Progress", "Completed", "Aborted"};
	for (long i = 0; i < n; i++) {
		char name[120], d1[16], d2[16];
		sys_fill(g, &x, &s, ids[i], true);
		snprintf(name, sizeof name, "%s %ld – %s", PICK(&g->r, types), 2020 + i % 7,
			 PICK(&g->r, company_words));
		st_text(&x, cn, name);
		st_text(&x, ct, PICK(&g->r, types));
		st_text(&x, cs, PICK(&g->r, st));
		int64_t start = g->now - (int64_t)below(&g->r, 400) * DAY_MS;
		fmt_date(start, d1);
		fmt_date(start + (int64_t)below(&g->r, 90) * DAY_MS, d2);
		st_text(&x, csd, d1);
		st_text(&x, ced, d2);
		st_int(&x, ca, chance(&g->r, 60));
		st_int(&x, cnl, 0);
		st_int(&x, cnc, 0);
		if (ins_step(&x))
			return ins_close(&x), -1;
	}
	ins_close(&x);
	return 0;
}

static int seed_members(gen *g, long n, char (*camps)[19], long nc, char (*leads)[19], long nl,
			char (*contacts)[19], long nct)
{
	ins x;
	sys_cols s;
	if (!nc || (!nl && !nct))
		return 0;
	if (ins_open(g->e, &x, "CampaignMember"))
		return -1;
	sys_init(&x, &s);
	int cc = col(&x, "CampaignId"), cl = col(&x, "LeadId"), cct = col(&x, "ContactId"),
	    cs = col(&x, "Status"), cr = col(&x, "HasResponded"), ct = col(&x, "Type"),
	    cfr = col(&x, "FirstRespondedDate");
	long persons = nl + nct;
	if (n > nc * persons)
		n = nc * persons;
	for (long i = 0; i < n; i++) {
		char id[19], d[16];
		long c = i % nc, k = i / nc;
		/* a different, spread-out person per campaign slot: unique (campaign, person) */
		long p =
		    (long)(((uint64_t)k * 2654435761ULL + (uint64_t)c * 97) % (uint64_t)persons);
		(void)p;
		p = (k + c * 7919) % persons;
		sys_fill(g, &x, &s, id, true);
		st_text(&x, cc, camps[c]);
		if (p < nl) {
			st_text(&x, cl, leads[p]);
			st_text(&x, ct, "Lead");
		} else {
			st_text(&x, cct, contacts[p - nl]);
			st_text(&x, ct, "Contact");
		}
		bool responded = chance(&g->r, 30);
		st_text(&x, cs, responded ? "Responded" : "Sent");
		st_int(&x, cr, responded);
		if (responded) {
			fmt_date(g->now - (int64_t)below(&g->r, 60) * DAY_MS, d);
			st_text(&x, cfr, d);
		}
		if (ins_step(&x))
			return ins_close(&x), -1;
	}
	ins_close(&x);
	return 0;
}

static int seed_opps(gen *g, long n, char (*ids)[19], char (*acc)[19], long na, char (*camps)[19],
		     long nc)
{
	ins x;
	sys_cols s;
	if (ins_open(g->e, &x, "Opportunity"))
		return -1;
	sys_init(&x, &s);
	int cn = col(&x, "Name"), cs = col(&x, "StageName"), cd = col(&x, "CloseDate"),
	    ca = col(&x, "Amount"), cp = col(&x, "Probability"), cacc = col(&x, "AccountId"),
	    ccamp = col(&x, "CampaignId"), ccl = col(&x, "IsClosed"), cw = col(&x, "IsWon"),
	    csrc = col(&x, "LeadSource");
	for (long i = 0; i < n; i++) {
		char name[200], d[16];
		sys_fill(g, &x, &s, ids[i], true);
		company(g, name, sizeof name);
		strncat(name, " – renewal", sizeof name - strlen(name) - 1);
		st_text(&x, cn, name);
		const char *stage = PICK(&g->r, stages);
		st_text(&x, cs, stage);
		fmt_date(g->now + ((int64_t)below(&g->r, 180) - 90) * DAY_MS, d);
		st_text(&x, cd, d);
		if (!chance(&g->r, 20))
			st_real(&x, ca, (double)below(&g->r, 10000000) / 100.0);
		st_real(&x, cp, (double)(below(&g->r, 11) * 10));
		if (na)
			st_text(&x, cacc, acc[below(&g->r, (uint32_t)na)]);
		if (nc && chance(&g->r, 30))
			st_text(&x, ccamp, camps[below(&g->r, (uint32_t)nc)]);
		st_int(&x, ccl, !strncmp(stage, "Closed", 6));
		st_int(&x, cw, !strcmp(stage, "Closed Won"));
		if (!chance(&g->r, 40))
			st_text(&x, csrc, PICK(&g->r, sources));
		if (ins_step(&x))
			return ins_close(&x), -1;
	}
	ins_close(&x);
	return 0;
}

static int seed_roles(gen *g, long n, char (*opps)[19], long no, char (*contacts)[19], long nct)
{
	ins x;
	sys_cols s;
	if (!no || !nct)
		return 0;
	if (ins_open(g->e, &x, "OpportunityContactRole"))
		return -1;
	sys_init(&x, &s);
	int co = col(&x, "OpportunityId"), cc = col(&x, "ContactId"), cr = col(&x, "Role"),
	    cp = col(&x, "IsPrimary");
	static const char *roles[] = {"Business User", "Decision Maker", "Economic Buyer",
				      "Influencer", "Other"};
	for (long i = 0; i < n; i++) {
		char id[19];
		sys_fill(g, &x, &s, id, true);
		st_text(&x, co, opps[i % no]);
		st_text(&x, cc, contacts[below(&g->r, (uint32_t)nct)]);
		st_text(&x, cr, PICK(&g->r, roles));
		st_int(&x, cp, i < no);
		if (ins_step(&x))
			return ins_close(&x), -1;
	}
	ins_close(&x);
	return 0;
}

static int seed_activities(gen *g, const char *obj, long n, char (*who1)[19], long nw1,
			   char (*who2)[19], long nw2, char (*what)[19], long nwhat,
			   char (*contact_acc)[19])
{
	ins x;
	sys_cols s;
	bool task = !strcmp(obj, "Task");
	if (ins_open(g->e, &x, obj))
		return -1;
	sys_init(&x, &s);
	int csub = col(&x, "Subject"), cs = col(&x, "Status"), cp = col(&x, "Priority"),
	    cad = col(&x, "ActivityDate"), cwho = col(&x, "WhoId"), cwhat = col(&x, "WhatId"),
	    cd = col(&x, "Description"), ccl = col(&x, "IsClosed"), cacc = col(&x, "AccountId"),
	    cst = col(&x, "StartDateTime"), cet = col(&x, "EndDateTime"),
	    cadt = col(&x, "ActivityDateTime"), cdur = col(&x, "DurationInMinutes"),
	    callday = col(&x, "IsAllDayEvent"), cloc = col(&x, "Location"),
	    carch = col(&x, "IsArchived"), csubt = col(&x, "TaskSubtype");
	static const char *tsub[] = {"Call", "Send Letter", "Send Quote", "Other", "Follow up ✉"};
	static const char *tstat[] = {"Not Started", "In Progress", "Completed",
				      "Waiting on someone else", "Deferred"};
	static const char *prio[] = {"High", "Normal", "Low"};
	for (long i = 0; i < n; i++) {
		char id[19], d[16];
		sys_fill(g, &x, &s, id, true);
		queue_owner(g, &x, &s, 5);
		int64_t when = g->now + ((int64_t)below(&g->r, 120) - 90) * DAY_MS;
		fmt_date(when, d);
		st_text(&x, cad, d);
		const char *acc = NULL;
		long who = nw1 + nw2 ? (long)below(&g->r, (uint32_t)(nw1 + nw2)) : -1;
		if (who >= 0 && !chance(&g->r, 10)) {
			if (who < nw1) {
				st_text(&x, cwho, who1[who]);
				if (contact_acc && contact_acc[who][0])
					acc = contact_acc[who];
			} else {
				st_text(&x, cwho, who2[who - nw1]);
			}
		}
		if (nwhat && chance(&g->r, 50)) {
			const char *w = what[below(&g->r, (uint32_t)nwhat)];
			st_text(&x, cwhat, w);
			if (!strncmp(w, "001", 3))
				acc = w;
		}
		st_text(&x, cacc, acc);
		st_int(&x, carch, 0);
		description(g, &x, cd);
		if (task) {
			const char *stt = PICK(&g->r, tstat);
			st_text(&x, csub, PICK(&g->r, tsub));
			st_text(&x, cs, stt);
			st_text(&x, cp, PICK(&g->r, prio));
			st_int(&x, ccl, !strcmp(stt, "Completed"));
			st_text(&x, csubt, chance(&g->r, 30) ? "Email" : "Task");
		} else {
			int dur = 15 * (1 + (int)below(&g->r, 8));
			int64_t start = when + (int64_t)below(&g->r, 10) * 3600000;
			st_text(&x, csub, chance(&g->r, 50) ? "Meeting" : "Call");
			st_int(&x, cst, start);
			st_int(&x, cadt, start);
			st_int(&x, cet, start + dur * 60000LL);
			st_int(&x, cdur, dur);
			st_int(&x, callday, 0);
			if (chance(&g->r, 50))
				st_text(&x, cloc, PICK(&g->r, cities));
		}
		if (ins_step(&x))
			return ins_close(&x), -1;
	}
	ins_close(&x);
	return 0;
}

static int seed_invoices(gen *g, long n, char (*acc)[19], long na, char (*con)[19], long nc)
{
	ins x;
	sys_cols s;
	if (ins_open(g->e, &x, "Invoice__c"))
		return -1;
	sys_init(&x, &s);
	int cn = col(&x, "Name"), ca = col(&x, "Account__c"), cc = col(&x, "Contact__c"),
	    cam = col(&x, "Amount__c"), cs = col(&x, "Status__c"), cd = col(&x, "Due_Date__c"),
	    cp = col(&x, "Paid__c");
	static const char *st[] = {"Draft", "Sent", "Paid", "Void"};
	for (long i = 0; i < n; i++) {
		char id[19], name[40], d[16];
		sys_fill(g, &x, &s, id, true);
		snprintf(name, sizeof name, "INV-%06ld", i + 1);
		st_text(&x, cn, name);
		if (na)
			st_text(&x, ca, acc[below(&g->r, (uint32_t)na)]);
		if (nc && chance(&g->r, 70))
			st_text(&x, cc, con[below(&g->r, (uint32_t)nc)]);
		st_real(&x, cam, (double)below(&g->r, 5000000) / 100.0);
		const char *status = PICK(&g->r, st);
		st_text(&x, cs, status);
		fmt_date(g->now + ((int64_t)below(&g->r, 120) - 60) * DAY_MS, d);
		st_text(&x, cd, d);
		st_int(&x, cp, !strcmp(status, "Paid"));
		if (ins_step(&x))
			return ins_close(&x), -1;
	}
	ins_close(&x);
	return 0;
}

/* ---- the spec ---- */

static const char *keys[] = {"users",	      "accounts",     "contacts",  "leads",
			     "opportunities", "contactroles", "campaigns", "members",
			     "tasks",	      "events",	      "invoices",  "queues"};
enum {
	K_USERS,
	K_ACC,
	K_CON,
	K_LEAD,
	K_OPP,
	K_OCR,
	K_CAMP,
	K_MEM,
	K_TASK,
	K_EVENT,
	K_INV,
	K_QUEUE,
	K_N
};

int seed_run(emu *e, const char *spec, uint64_t seed, char *err, size_t errlen)
{
	long cnt[K_N] = {0};
	char *tmp = strdup(spec);
	int rc = -1;
	for (char *save = NULL, *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '=');
		int k = -1;
		if (eq) {
			*eq = 0;
			for (int i = 0; i < K_N; i++)
				if (!strcasecmp(t, keys[i]))
					k = i;
		}
		char *end;
		long v = eq ? strtol(eq + 1, &end, 10) : -1;
		if (k < 0 || v < 0 || *end) {
			snprintf(
			    err, errlen,
			    "bad item '%s': expected NAME=COUNT with NAME one of users, accounts, "
			    "contacts, leads, opportunities, contactroles, campaigns, members, "
			    "tasks, events, invoices, queues",
			    t);
			free(tmp);
			return -1;
		}
		cnt[k] = v;
	}
	free(tmp);
	/* stamps hang off midnight of the emulator's day: same spec, rng and day (or
	 * --clock), same data */
	gen g = {
	    .e = e, .r = {seed * 0x2545F4914F6CDD1DULL + 1}, .now = emu_now(e) / DAY_MS * DAY_MS};
	for (int i = 0; i < 64; i++)
		g.bulk[i] = g.now - (int64_t)(next(&g.r) % (uint64_t)(60 * DAY_MS)) / 1000 * 1000;
	char(*users)[19] = NULL, (*acc)[19] = ids_alloc(cnt[K_ACC]),
	(*con)[19] = ids_alloc(cnt[K_CON]), (*lead)[19] = ids_alloc(cnt[K_LEAD]),
	(*opp)[19] = ids_alloc(cnt[K_OPP]), (*camp)[19] = ids_alloc(cnt[K_CAMP]),
	(*queue)[19] = ids_alloc(cnt[K_QUEUE]);
	char(*con_acc)[19] = NULL;
	int nusers = 0;
	long rows = 0;
	for (int i = 0; i < K_N; i++)
		rows += cnt[i];
	bool bulk = rows > 20000;
	if (bulk)
		store_drop_indexes(e);
	emu_db_exec(e, "BEGIN");
	if (seed_users(&g, cnt[K_USERS], &users, &nusers) || seed_queues(&g, cnt[K_QUEUE], queue) ||
	    seed_accounts(&g, cnt[K_ACC], acc) ||
	    seed_people(&g, "Contact", cnt[K_CON], con, acc, cnt[K_ACC]) ||
	    seed_people(&g, "Lead", cnt[K_LEAD], lead, NULL, 0) ||
	    seed_campaigns(&g, cnt[K_CAMP], camp) ||
	    seed_opps(&g, cnt[K_OPP], opp, acc, cnt[K_ACC], camp, cnt[K_CAMP]) ||
	    seed_roles(&g, cnt[K_OCR], opp, cnt[K_OPP], con, cnt[K_CON]) ||
	    seed_members(&g, cnt[K_MEM], camp, cnt[K_CAMP], lead, cnt[K_LEAD], con, cnt[K_CON]) ||
	    seed_activities(&g, "Task", cnt[K_TASK], con, cnt[K_CON], lead, cnt[K_LEAD], acc,
			    cnt[K_ACC], con_acc) ||
	    seed_activities(&g, "Event", cnt[K_EVENT], con, cnt[K_CON], lead, cnt[K_LEAD], opp,
			    cnt[K_OPP], con_acc) ||
	    seed_invoices(&g, cnt[K_INV], acc, cnt[K_ACC], con, cnt[K_CON])) {
		snprintf(err, errlen, "insert failed: %s", sqlite3_errmsg(e->db));
		emu_db_exec(e, "ROLLBACK");
		goto out;
	}
	/* campaign counters */
	emu_db_exec(e, "UPDATE Campaign SET NumberOfLeads=(SELECT count(*) FROM CampaignMember m "
		       "WHERE m.CampaignId=Campaign.Id AND m.LeadId IS NOT NULL), "
		       "NumberOfContacts=(SELECT count(*) FROM CampaignMember m WHERE "
		       "m.CampaignId=Campaign.Id AND m.ContactId IS NOT NULL)");
	emu_db_exec(e, "COMMIT");
	rc = 0;
out:
	if (bulk)
		store_create_schema(e);
	free(users);
	free(acc);
	free(con);
	free(lead);
	free(opp);
	free(camp);
	free(queue);
	return rc;
}
