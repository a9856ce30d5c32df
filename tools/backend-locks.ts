/**
 * Where a DIY backend keeps a stack's update locks, and how `npm run recover` reads and removes
 * one: files under a file backend's `.pulumi/locks`, or rows of a PostgreSQL backend's table
 * (Pulumi's postgres backend is a blob store: one row per file, the file's bytes base64 in
 * `data`, keyed by the database name and the same path). Only the lock judged removable is
 * removed, by its exact key: never another holder's.
 */
import * as fs from "fs";
import * as path from "path";
import { Client, ClientConfig } from "pg";
import { redactUrls } from "../state/backend-url";
import { parseStackLock, StackLock } from "./stack-lock";

/** A backend's locks of one stack. */
export interface LockStore {
    /** The backend, for messages (no password). */
    readonly describe: string;
    list(project: string, stack: string): Promise<StackLock[]>;
    remove(lock: StackLock): Promise<void>;
    close(): Promise<void>;
}

function fileLockStore(backendDir: string): LockStore {
    return {
        describe: `file backend ${backendDir}`,
        async list(project, stack) {
            const dir = path.join(backendDir, ".pulumi", "locks", "organization", project, stack);
            const legacy = path.join(backendDir, ".pulumi", "locks", stack);
            return [dir, legacy]
                .filter((d) => fs.existsSync(d))
                .flatMap((d) =>
                    fs
                        .readdirSync(d)
                        .filter((f) => f.endsWith(".json"))
                        .map((f) => parseStackLock(path.join(d, f), fs.readFileSync(path.join(d, f), "utf8"))),
                )
                .filter((l): l is StackLock => !!l);
        },
        async remove(lock) {
            fs.rmSync(lock.file, { force: true });
        },
        async close() {},
    };
}

/** What `postgres://` names, as Pulumi reads it: the connection, the table, and the key prefix of every blob. */
export interface PostgresBackend {
    readonly connection: ClientConfig;
    readonly table: string;
    /** The URL's path (the database name) and a `prefix` parameter: prepended to each key. */
    readonly keyPrefix: string;
}

/** Parses a postgres:// backend URL; connection details left out come from PG* variables, as for Pulumi (lib/pq). */
export function parsePostgresBackend(url: string, env: NodeJS.ProcessEnv = process.env): PostgresBackend {
    const u = new URL(url);
    const params = u.searchParams;
    // Pulumi writes the name into its SQL unquoted, so PostgreSQL folds it to lower case.
    const table = (params.get("table") ?? "pulumi_state").toLowerCase();
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(table)) throw new Error(`the backend's table parameter is not a plain table name: ${table}`);
    const database = decodeURIComponent(u.pathname.replace(/^\/+/, ""));
    const sslmode = params.get("sslmode") ?? env.PGSSLMODE ?? "require";
    const connection: ClientConfig = {
        host: u.hostname || env.PGHOST || "localhost",
        port: Number(u.port || env.PGPORT || 5432),
        user: decodeURIComponent(u.username) || env.PGUSER,
        password: u.password ? decodeURIComponent(u.password) : env.PGPASSWORD,
        database: database || env.PGDATABASE,
        // Pulumi's driver encrypts unless told not to (sslmode require: no certificate check); verify-* checks.
        ssl: sslmode === "disable" ? false : { rejectUnauthorized: sslmode.startsWith("verify") },
        connectionTimeoutMillis: 15_000,
    };
    const prefix = params.get("prefix") ?? "";
    return { connection, table, keyPrefix: `${database ? `${database}/` : ""}${prefix}` };
}

/** A LIKE pattern that matches `text` literally, then anything. */
export function likePrefix(text: string): string {
    return `${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

async function postgresLockStore(url: string): Promise<LockStore> {
    const backend = parsePostgresBackend(url);
    const client = new Client(backend.connection);
    await client.connect();
    return {
        describe: `PostgreSQL backend ${redactUrls(url)} (table ${backend.table})`,
        async list(project, stack) {
            const dir = `${backend.keyPrefix}.pulumi/locks/organization/${project}/${stack}/`;
            const rows = await client.query<{ key: string; body: string }>(
                `SELECT key, convert_from(decode(data->>'data', 'base64'), 'UTF8') AS body FROM "${backend.table}" WHERE key LIKE $1`,
                [likePrefix(dir)],
            );
            return rows.rows
                .filter((r) => r.key.endsWith(".json") && !r.key.slice(dir.length).includes("/"))
                .map((r) => parseStackLock(r.key, r.body))
                .filter((l): l is StackLock => !!l);
        },
        async remove(lock) {
            await client.query(`DELETE FROM "${backend.table}" WHERE key = $1`, [lock.file]);
        },
        close: () => client.end(),
    };
}

/** The lock store of a backend URL; undefined for a backend that keeps its locks itself (Pulumi Cloud, buckets). */
export async function openLockStore(url: string): Promise<LockStore | undefined> {
    if (url.startsWith("file://")) return fileLockStore(decodeURIComponent(url.slice("file://".length).split("?")[0]));
    if (url.startsWith("postgres://")) return postgresLockStore(url);
    return undefined;
}
