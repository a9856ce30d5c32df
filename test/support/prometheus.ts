import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** A Prometheus scraping a node_exporter whose textfile collector reads a metrics directory (Debian's binaries). */
export interface PrometheusScrape {
    /** Waits (at most `timeoutMs`) until every query returns a sample; what never did. */
    waitFor(queries: string[], timeoutMs?: number): Promise<{ missing: string[] }>;
    /** The first sample's value of a query, or undefined. */
    value(query: string): Promise<string | undefined>;
    /** The loaded rules: name and health ("ok" once evaluated without error). */
    rules(): Promise<{ name: string; health: string; lastError?: string }[]>;
    /** Stops both and removes their files. */
    stop(): void;
}

const NODE_EXPORTER_ADDRESS = "127.0.0.1:18694";
const PROMETHEUS_ADDRESS = "127.0.0.1:18695";

async function get(url: string): Promise<unknown> {
    const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
    return r.json();
}

/**
 * Starts node_exporter (textfile collector only, on `textfileDir`) and Prometheus scraping it
 * every second with `rulesFile` evaluated every second, both on loopback, in a scratch
 * directory. Resolves once Prometheus answers.
 */
export async function startPrometheus(textfileDir: string, rulesFile: string): Promise<PrometheusScrape> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "l9-prometheus-"));
    fs.copyFileSync(rulesFile, path.join(dir, "rules.yml"));
    fs.writeFileSync(
        path.join(dir, "prometheus.yml"),
        [
            "global:",
            "  scrape_interval: 1s",
            "  evaluation_interval: 1s",
            "rule_files: [rules.yml]",
            "scrape_configs:",
            "  - job_name: node",
            "    static_configs:",
            `      - targets: ["${NODE_EXPORTER_ADDRESS}"]`,
            "",
        ].join("\n"),
    );
    const log = fs.openSync(path.join(dir, "log"), "a");
    const children: ChildProcess[] = [
        spawn(
            "prometheus-node-exporter",
            [
                `--web.listen-address=${NODE_EXPORTER_ADDRESS}`,
                "--collector.disable-defaults",
                "--collector.textfile",
                `--collector.textfile.directory=${textfileDir}`,
            ],
            { stdio: ["ignore", log, log] },
        ),
        spawn(
            "prometheus",
            [
                `--config.file=${path.join(dir, "prometheus.yml")}`,
                `--storage.tsdb.path=${path.join(dir, "data")}`,
                `--web.listen-address=${PROMETHEUS_ADDRESS}`,
            ],
            { stdio: ["ignore", log, log], cwd: dir },
        ),
    ];
    const stop = () => {
        for (const c of children) c.kill("SIGTERM");
        fs.closeSync(log);
        fs.rmSync(dir, { recursive: true, force: true });
    };
    const query = async (q: string) => {
        const body = (await get(`http://${PROMETHEUS_ADDRESS}/api/v1/query?query=${encodeURIComponent(q)}`)) as {
            data?: { result?: { value: [number, string] }[] };
        };
        return body.data?.result ?? [];
    };
    for (let i = 0; ; i++) {
        try {
            await get(`http://${PROMETHEUS_ADDRESS}/api/v1/status/buildinfo`);
            break;
        } catch (e) {
            if (i >= 60 || children.some((c) => c.exitCode !== null)) {
                const out = fs.readFileSync(path.join(dir, "log"), "utf8").slice(-2000);
                stop();
                throw new Error(`Prometheus or node_exporter did not start: ${String(e)}\n${out}`);
            }
            await new Promise((r) => setTimeout(r, 500));
        }
    }
    return {
        async waitFor(queries, timeoutMs = 90_000) {
            const deadline = Date.now() + timeoutMs;
            let missing = queries;
            while (missing.length > 0 && Date.now() < deadline) {
                const results = await Promise.all(missing.map(async (q) => ((await query(q)).length > 0 ? undefined : q)));
                missing = results.filter((q): q is string => q !== undefined);
                if (missing.length > 0) await new Promise((r) => setTimeout(r, 1000));
            }
            return { missing };
        },
        async value(q) {
            return (await query(q))[0]?.value[1];
        },
        async rules() {
            const body = (await get(`http://${PROMETHEUS_ADDRESS}/api/v1/rules`)) as {
                data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] };
            };
            return body.data.groups.flatMap((g) =>
                g.rules.map((r) => ({ name: r.name, health: r.health, ...(r.lastError ? { lastError: r.lastError } : {}) })),
            );
        },
        stop,
    };
}
