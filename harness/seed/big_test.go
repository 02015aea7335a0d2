package seed

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// thirtyTables has cycles (departments <-> employees, users <-> teams),
// self-references (tasks, categories, employees), composite primary and
// foreign keys, one-to-one keys and join tables.
const thirtyTables = `
CREATE TYPE priority AS ENUM ('low', 'medium', 'high', 'urgent');
CREATE TABLE tenants (id bigserial PRIMARY KEY, name text NOT NULL UNIQUE, country_code char(2) NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE plans (code varchar(16) PRIMARY KEY, price numeric(10,2) NOT NULL CHECK (price >= 0), max_seats int NOT NULL CHECK (max_seats BETWEEN 1 AND 10000));
CREATE TABLE subscriptions (tenant_id bigint PRIMARY KEY REFERENCES tenants, plan_code varchar(16) NOT NULL REFERENCES plans, starts_at timestamptz NOT NULL, ends_at timestamptz, CHECK (ends_at IS NULL OR starts_at < ends_at));
CREATE TABLE users (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL REFERENCES tenants, email text NOT NULL, full_name text NOT NULL, primary_team_id bigint, created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz, UNIQUE (tenant_id, email));
CREATE TABLE teams (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL REFERENCES tenants, name varchar(64) NOT NULL, lead_id bigint REFERENCES users, UNIQUE (tenant_id, name));
ALTER TABLE users ADD FOREIGN KEY (primary_team_id) REFERENCES teams;
CREATE TABLE team_members (team_id bigint NOT NULL REFERENCES teams, user_id bigint NOT NULL REFERENCES users, role text NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'admin', 'owner')), PRIMARY KEY (team_id, user_id));
CREATE TABLE user_profiles (user_id bigint PRIMARY KEY REFERENCES users, bio text, avatar_url text, birth_date date);
CREATE TABLE departments (id serial PRIMARY KEY, name varchar(64) NOT NULL UNIQUE, manager_id int, parent_id int REFERENCES departments);
CREATE TABLE employees (id serial PRIMARY KEY, department_id int NOT NULL REFERENCES departments, manager_id int REFERENCES employees, first_name text NOT NULL, last_name text NOT NULL, salary numeric(12,2) CHECK (salary > 0), hired_on date NOT NULL);
ALTER TABLE departments ADD FOREIGN KEY (manager_id) REFERENCES employees;
CREATE TABLE projects (id bigserial PRIMARY KEY, team_id bigint NOT NULL REFERENCES teams, code varchar(12) NOT NULL UNIQUE, name text NOT NULL, status text NOT NULL DEFAULT 'active' CHECK (status = ANY (ARRAY['active', 'paused', 'done'])), starts_on date, ends_on date, CHECK (starts_on <= ends_on));
CREATE TABLE milestones (project_id bigint NOT NULL REFERENCES projects, seq int NOT NULL CHECK (seq > 0), title text NOT NULL, due_on date, PRIMARY KEY (project_id, seq));
CREATE TABLE tasks (id bigserial PRIMARY KEY, project_id bigint NOT NULL REFERENCES projects, parent_task_id bigint REFERENCES tasks, milestone_project_id bigint, milestone_seq int, assignee_id bigint REFERENCES users, title varchar(200) NOT NULL, priority priority NOT NULL DEFAULT 'medium', estimate_hours numeric(6,1) CHECK (estimate_hours >= 0 AND estimate_hours <= 1000), created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, FOREIGN KEY (milestone_project_id, milestone_seq) REFERENCES milestones, CHECK (created_at <= updated_at));
CREATE TABLE labels (id serial PRIMARY KEY, tenant_id bigint NOT NULL REFERENCES tenants, name varchar(32) NOT NULL, color varchar(7) NOT NULL CHECK (color ~ '^#[0-9a-f]{6}$'), UNIQUE (tenant_id, name));
CREATE TABLE task_labels (task_id bigint REFERENCES tasks, label_id int REFERENCES labels, PRIMARY KEY (task_id, label_id));
CREATE TABLE comments (id bigserial PRIMARY KEY, task_id bigint NOT NULL REFERENCES tasks ON DELETE CASCADE, author_id bigint NOT NULL REFERENCES users, reply_to bigint REFERENCES comments, body text NOT NULL CHECK (length(body) > 0), created_at timestamptz NOT NULL);
CREATE TABLE attachments (id uuid PRIMARY KEY, comment_id bigint NOT NULL REFERENCES comments, file_name text NOT NULL, size_bytes bigint NOT NULL CHECK (size_bytes >= 0), sha256 bytea NOT NULL);
CREATE TABLE categories (id int PRIMARY KEY, parent_id int REFERENCES categories, name text NOT NULL, slug varchar(64) NOT NULL UNIQUE);
CREATE TABLE products (id bigserial PRIMARY KEY, sku varchar(16) NOT NULL UNIQUE, name text NOT NULL, category_id int REFERENCES categories, price numeric(10,2) NOT NULL CHECK (price > 0), weight_kg real, active boolean NOT NULL DEFAULT true);
CREATE TABLE warehouses (id smallserial PRIMARY KEY, code char(4) NOT NULL UNIQUE, city text NOT NULL);
CREATE TABLE stock (warehouse_id smallint REFERENCES warehouses, product_id bigint REFERENCES products, quantity int NOT NULL CHECK (quantity >= 0), PRIMARY KEY (warehouse_id, product_id));
CREATE TABLE customers (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL REFERENCES tenants, email text NOT NULL, name text NOT NULL, phone text, UNIQUE (tenant_id, email));
CREATE TABLE addresses (id bigserial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers, street text NOT NULL, city text NOT NULL, zip varchar(10), country char(2) NOT NULL);
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers, shipping_address_id bigint REFERENCES addresses, status text NOT NULL CHECK (status IN ('new', 'paid', 'shipped', 'cancelled')), total numeric(12,2) NOT NULL DEFAULT 0, placed_at timestamptz NOT NULL);
CREATE TABLE order_lines (order_id bigint NOT NULL REFERENCES orders, line_no smallint NOT NULL CHECK (line_no > 0), product_id bigint NOT NULL REFERENCES products, quantity int NOT NULL CHECK (quantity BETWEEN 1 AND 99), unit_price numeric(10,2) NOT NULL, PRIMARY KEY (order_id, line_no));
CREATE TABLE shipments (id bigserial PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders, warehouse_id smallint NOT NULL REFERENCES warehouses, tracking_code varchar(32) UNIQUE, shipped_at timestamptz);
CREATE TABLE shipment_lines (shipment_id bigint REFERENCES shipments, order_id bigint NOT NULL, line_no smallint NOT NULL, FOREIGN KEY (order_id, line_no) REFERENCES order_lines, PRIMARY KEY (shipment_id, order_id, line_no));
CREATE TABLE invoices (id bigserial PRIMARY KEY, order_id bigint NOT NULL UNIQUE REFERENCES orders, number varchar(20) NOT NULL UNIQUE, issued_at timestamptz NOT NULL, due_at timestamptz NOT NULL, currency char(3) NOT NULL, CHECK (issued_at < due_at));
CREATE TABLE payments (id bigserial PRIMARY KEY, invoice_id bigint NOT NULL REFERENCES invoices, amount numeric(12,2) NOT NULL CHECK (amount <> 0), method text NOT NULL CHECK (method IN ('card', 'transfer', 'cash')), paid_at timestamptz NOT NULL);
CREATE TABLE audit_log (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, tenant_id bigint REFERENCES tenants, actor_id bigint REFERENCES users, action text NOT NULL, ip inet, details jsonb, occurred_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE api_keys (id uuid PRIMARY KEY, user_id bigint NOT NULL REFERENCES users, token_hash text NOT NULL UNIQUE, scopes text[] NOT NULL DEFAULT '{}', expires_at timestamptz, revoked boolean NOT NULL DEFAULT false);
CREATE UNIQUE INDEX api_keys_one_active_per_user ON api_keys (user_id) WHERE NOT revoked;
`

func TestBaseThirtyTablesCyclesCompositeKeys(t *testing.T) {
	ctx := testCtx(t)
	dsn := schemaDB(t, thirtyTables)
	snap := take(t, dsn)
	require.Len(t, snap.Tables, 30)
	res, err := New(Options{Seed: 1, Rows: 300, Logger: testLogger()}).Base(ctx, dsn, snap, nil)
	require.NoError(t, err)
	require.Len(t, res.Tables, 30)
	requireAllFilled(t, res, 1)
	for _, tr := range res.Tables {
		t.Logf("%-24s %5d rows", tr.Table, tr.Rows)
		assert.Equal(t, tr.Rows, queryInt(t, dsn, "SELECT count(*) FROM "+tr.Table), tr.Table)
	}
	// Cycles and self-references were closed by the UPDATE pass.
	for what, sql := range map[string]string{
		"departments.manager_id (cycle)": "SELECT count(manager_id) FROM departments",
		"users.primary_team_id (cycle)":  "SELECT count(primary_team_id) FROM users",
		"tasks.parent_task_id (self)":    "SELECT count(parent_task_id) FROM tasks",
		"employees.manager_id (self)":    "SELECT count(manager_id) FROM employees",
		"composite FK into milestones":   "SELECT count(milestone_seq) FROM tasks",
		"composite FK into order_lines":  "SELECT count(*) FROM shipment_lines",
	} {
		assert.Positive(t, queryInt(t, dsn, sql), what)
	}
	// Serial keys were written explicitly; their sequences were moved past
	// them, so the application's next insert does not collide.
	require.NoError(t, execErr(t, dsn, "INSERT INTO tenants (name, country_code) VALUES ('after seeding', 'DE')"))
	require.NoError(t, execErr(t, dsn, "INSERT INTO warehouses (code, city) VALUES ('ZZZZ', 'Berlin')"))
	// One-to-one keys use each parent once; most rows have one.
	assert.LessOrEqual(t, queryInt(t, dsn, "SELECT count(*) FROM invoices"), queryInt(t, dsn, "SELECT count(*) FROM orders"))
	// Parents are skewed: the busiest customer has several times the mean.
	assert.Greater(t, queryInt(t, dsn, "SELECT max(c) FROM (SELECT count(*) c FROM orders GROUP BY customer_id) x"),
		3*queryInt(t, dsn, "SELECT (count(*) / count(DISTINCT customer_id)) FROM orders"))
}

func TestBaseDeterministic(t *testing.T) {
	ctx := testCtx(t)
	ddl := kitchenSink + thirtyTables
	var dumps [][]byte
	for _, opts := range []Options{{Seed: 99, Parallel: 1}, {Seed: 99, Parallel: 4}, {Seed: 100, Parallel: 2}} {
		dsn := schemaDB(t, ddl)
		snap := take(t, dsn)
		opts.Logger = testLogger()
		_, err := New(opts).Base(ctx, dsn, snap, nil)
		require.NoError(t, err)
		dumps = append(dumps, dump(t, dsn, snap))
	}
	require.Greater(t, len(dumps[0]), 100000)
	assert.True(t, string(dumps[0]) == string(dumps[1]), "same seed must give byte-identical data whatever the parallelism")
	assert.False(t, string(dumps[0]) == string(dumps[2]), "another seed gives other data")
}
