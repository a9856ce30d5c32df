import { expect } from "chai";
import { likePrefix, parsePostgresBackend } from "../../tools/backend-locks";
import { judgeStackLock, parseStackLock } from "../../tools/stack-lock";

describe("unit: npm run recover judges a stack's lock", () => {
    const lock = parseStackLock(
        "/b/.pulumi/locks/l9-deploy/prod/1.json",
        JSON.stringify({ pid: 4242, username: "ops", hostname: "laptop", timestamp: "2026-12-04T06:00:00Z" }),
    )!;
    const here = (running: boolean, hostname = "laptop") => ({ hostname, isRunning: (pid: number) => pid === 4242 && running });

    it("removes the lock of a holder on this machine that no longer runs", () => {
        expect(judgeStackLock(lock, here(false))).to.deep.equal({
            action: "remove",
            why: "removed the lock of process 4242 (ops@laptop, since 2026-12-04T06:00:00Z), which no longer runs",
        });
    });

    it("never takes a live holder's lock", () => {
        const v = judgeStackLock(lock, here(true));
        expect(v.action).to.equal("keep");
        expect(v.why).to.contain("still runs and holds the lock");
    });

    it("keeps a lock from another machine, whose process it cannot see, and says how to check there", () => {
        const v = judgeStackLock(lock, here(false, "ci-runner"));
        expect(v.action).to.equal("keep");
        expect(v.why).to.contain("is from another machine").and.contain("ps -p 4242").and.contain("pulumi cancel");
    });

    it("reads only lock files it understands", () => {
        expect(lock).to.include({ pid: 4242, hostname: "laptop" });
        expect(parseStackLock("x", "{garbage")).to.equal(undefined);
        expect(parseStackLock("x", JSON.stringify({ pid: "4242", hostname: "laptop" }))).to.equal(undefined);
    });
});

describe("unit: where npm run recover finds a stack's locks (tools/backend-locks.ts)", () => {
    it("a postgres:// backend as Pulumi reads it: the URL first, PG* variables for what it leaves out, the database name as the key prefix", () => {
        const env = { PGPASSWORD: "from-env", PGUSER: "env-user", PGSSLMODE: "verify-full" };
        const full = parsePostgresBackend("postgres://ops@db.example.com:6543/pulumi_state_db?sslmode=disable&table=team_state&prefix=l9/", env);
        expect(full.connection).to.deep.equal({
            host: "db.example.com",
            port: 6543,
            user: "ops",
            password: "from-env",
            database: "pulumi_state_db",
            ssl: false,
            connectionTimeoutMillis: 15_000,
        });
        expect(full.table).to.equal("team_state");
        expect(full.keyPrefix).to.equal("pulumi_state_db/l9/");
        const bare = parsePostgresBackend("postgres://db.example.com/state", env);
        expect(bare.connection).to.deep.include({ user: "env-user", port: 5432, ssl: { rejectUnauthorized: true } });
        expect(bare.table).to.equal("pulumi_state");
        // Pulumi's driver encrypts by default (sslmode require: no certificate check).
        expect(parsePostgresBackend("postgres://h/state", {}).connection.ssl).to.deep.equal({ rejectUnauthorized: false });
        expect(parsePostgresBackend("postgres://u:p%40ss@h/state", {}).connection.password, "a password in the URL wins").to.equal("p@ss");
        expect(() => parsePostgresBackend("postgres://h/state?table=x;drop", {})).to.throw(/not a plain table name/);
        // Pulumi puts the name in its SQL unquoted: PostgreSQL folds it to lower case.
        expect(parsePostgresBackend("postgres://h/state?table=TeamState", {}).table).to.equal("teamstate");
    });

    it("matches a lock directory literally (LIKE's _ and % escaped)", () => {
        expect(likePrefix("l9_state/.pulumi/locks/organization/l9-deploy/e2e_team/")).to.equal("l9\\_state/.pulumi/locks/organization/l9-deploy/e2e\\_team/%");
        expect(likePrefix("100%\\")).to.equal("100\\%\\\\%");
    });
});
