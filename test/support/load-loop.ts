import * as http from "http";
import * as https from "https";

/** One response (or failure) seen by the load loop. */
export interface Sample {
    /** Milliseconds since the loop started. */
    t: number;
    /** HTTP status, or 0 when the request failed without a response. */
    status: number;
    /** The `version` field of the JSON body, when there is one. */
    version?: string;
    /** The error, for failed requests. */
    error?: string;
    /** The error's code (ECONNRESET, EPROTO, ...), for failed requests that have one. */
    code?: string;
    /**
     * A failed request whose connection never got to carry it: the TCP connection or, for a TLS
     * site, the TLS handshake did not complete (the request's bytes are sent only after it).
     */
    beforeRequest?: boolean;
    /**
     * The request was sent on a reused keep-alive connection that the server closed before
     * answering (its config reload closes idle connections), and was retried once on a fresh
     * connection, as HTTP clients do for idempotent requests (RFC 9112 §9.3.1; Node's docs
     * on `request.reusedSocket`). Counted separately, never hidden.
     */
    retried?: boolean;
}

export interface LoadReport {
    samples: Sample[];
    total: number;
    failed: Sample[];
    /** Requests retried once after a stale keep-alive connection (and then answered). */
    retriedOnStaleConnection: number;
    versions: string[];
    /** Longest stretch (ms) without a successful response. */
    longestGapMs: number;
}

/**
 * An HTTPS site of a sandbox host: the loop connects to `address` (the host's own address on
 * the sandbox's bridge) and asks for the URL's host name (SNI and Host), trusting only `ca`.
 */
export interface SandboxTlsSite {
    /** Where to connect: loopback, or the sandbox's bridge 10.219.0.0/24. */
    readonly address: string;
    /** The PEM of the CA the site's certificate chains to. */
    readonly ca: string;
}

/** The addresses a load loop may target: loopback, and the namespaces the sandbox made (its bridge). */
const SANDBOX_ADDRESS = /^(127\.\d+\.\d+\.\d+|10\.219\.0\.\d+)$/;

/**
 * A bounded load loop: `workers` concurrent clients request `url` back to back (or `pauseMs`
 * apart: a watcher rather than a load) until stopped, or until `maxSeconds` or `maxRequests`
 * is reached. Only for loopback targets, or a sandbox host's TLS site (`tls`).
 */
export class LoadLoop {
    /** Loops not stopped yet: a test that fails midway leaves its loop to stopAll. */
    private static readonly live = new Set<LoadLoop>();
    private readonly samples: Sample[] = [];
    private running = true;
    private readonly done: Promise<void>;
    /** When the loop started (epoch ms): sample times count from it. */
    readonly started = Date.now();

    /**
     * Half the workers keep connections alive (retrying once on a stale one, see Sample),
     * half open a fresh connection per request (never retried).
     */
    constructor(
        private readonly url: string,
        workers = 4,
        maxSeconds = 900,
        maxRequests = 2_000_000,
        pauseMs = 0,
        private readonly tls?: SandboxTlsSite,
    ) {
        const u = new URL(url);
        const address = tls ? tls.address : u.hostname;
        if (!SANDBOX_ADDRESS.test(address)) throw new Error(`load loop targets loopback or the sandbox's bridge only, not ${address}`);
        if (tls && u.protocol !== "https:") throw new Error(`a TLS site's URL is https://, not ${url}`);
        const deadline = this.started + maxSeconds * 1000;
        const agent = tls
            ? new https.Agent({ keepAlive: true, maxSockets: workers, ca: tls.ca, servername: u.hostname })
            : new http.Agent({ keepAlive: true, maxSockets: workers });
        const worker = async (keepAlive: boolean) => {
            while (this.running && Date.now() < deadline && this.samples.length < maxRequests) {
                this.samples.push(await this.once(keepAlive ? agent : undefined));
                if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
            }
        };
        this.done = Promise.all(Array.from({ length: workers }, (_, i) => worker(i % 2 === 0))).then(() => agent.destroy());
        LoadLoop.live.add(this);
    }

    /** How many requests the loop has seen so far. */
    sampleCount(): number {
        return this.samples.length;
    }

    /** Stops every loop still running (test/support/mocha-hooks.ts calls it after each test). */
    static async stopAll(): Promise<void> {
        await Promise.all([...LoadLoop.live].map((loop) => loop.stop()));
    }

    private async once(agent: http.Agent | undefined): Promise<Sample> {
        const first = await this.attempt(agent);
        if (first.staleKeepAlive) {
            const second = await this.attempt(undefined);
            return { ...second.sample, t: first.sample.t, retried: true };
        }
        return first.sample;
    }

    private attempt(agent: http.Agent | undefined): Promise<{ sample: Sample; staleKeepAlive: boolean }> {
        const t = Date.now() - this.started;
        return new Promise((resolve) => {
            let answered = false;
            const onResponse = (res: http.IncomingMessage) => {
                answered = true;
                let body = "";
                res.on("data", (d: Buffer) => (body += d.toString()));
                res.on("end", () => {
                    let version: string | undefined;
                    try {
                        version = (JSON.parse(body) as { version?: string }).version;
                    } catch {
                        version = undefined;
                    }
                    resolve({ sample: { t, status: res.statusCode ?? 0, version }, staleKeepAlive: false });
                });
                res.on("error", (e) => resolve({ sample: { t, status: 0, error: String(e) }, staleKeepAlive: false }));
            };
            const req = this.tls
                ? https.get(
                      this.url,
                      // The name is the URL's; the connection goes to the sandbox host's address.
                      { agent: agent ?? false, timeout: 10_000, ca: this.tls.ca, lookup: fixedLookup(this.tls.address) },
                      onResponse,
                  )
                : http.get(this.url, { agent: agent ?? false, timeout: 10_000 }, onResponse);
            // A new connection carries the request only once it is connected (TLS: its handshake done).
            let connected = false;
            req.on("socket", (socket) => {
                if (req.reusedSocket) connected = true;
                else socket.once(this.tls ? "secureConnect" : "connect", () => (connected = true));
            });
            req.on("timeout", () => req.destroy(new Error("timeout")));
            req.on("error", (e) => {
                const code = (e as NodeJS.ErrnoException).code;
                const stale = !answered && req.reusedSocket && code === "ECONNRESET";
                resolve({ sample: { t, status: 0, error: String(e), ...(code ? { code } : {}), beforeRequest: !connected }, staleKeepAlive: stale });
            });
        });
    }

    /** Stops the loop (a second call only summarises again) and summarises what it saw. */
    async stop(): Promise<LoadReport> {
        this.running = false;
        LoadLoop.live.delete(this);
        await this.done;
        return summarise(this.samples);
    }
}

export function summarise(samples: Sample[]): LoadReport {
    const sorted = [...samples].sort((a, b) => a.t - b.t);
    let lastOk = sorted.length ? sorted[0].t : 0;
    let longestGapMs = 0;
    for (const s of sorted) {
        if (s.status >= 200 && s.status < 400) {
            longestGapMs = Math.max(longestGapMs, s.t - lastOk);
            lastOk = s.t;
        }
    }
    return {
        samples: sorted,
        total: sorted.length,
        failed: sorted.filter((s) => !(s.status >= 200 && s.status < 400)),
        retriedOnStaleConnection: sorted.filter((s) => s.retried).length,
        versions: [...new Set(sorted.map((s) => s.version).filter((v): v is string => !!v))],
        longestGapMs,
    };
}

/** A DNS lookup that answers every name with `address` (curl's --resolve). */
function fixedLookup(address: string): NonNullable<http.RequestOptions["lookup"]> {
    return ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
        if (options?.all) callback(null, [{ address, family: 4 }]);
        else callback(null, address, 4);
    }) as unknown as NonNullable<http.RequestOptions["lookup"]>;
}

/**
 * A TLS handshake Caddy refused while it loaded its config (a reload, or its start): OpenSSL's
 * "tlsv1 alert internal error", alert 80.
 */
const TLS_ALERT_INTERNAL_ERROR = /tlsv1 alert internal error/;

/**
 * Failures before any request was sent: a new connection reset (ECONNRESET, whether at connect,
 * as `connect ECONNRESET`, or while the TLS handshake waited for the server, as `read
 * ECONNRESET`) or its TLS handshake refused, before it was connected (Sample.beforeRequest).
 * Caddy 2.6.2's graceful reload (a new listener beside the old, SO_REUSEPORT) resets connections
 * that are in the old listener's accept queue when it closes: measured on the legacy sandbox
 * host under load on both sites, 7 in 121 reloads, each before its handshake completed (the
 * API: 3 `connect`; the operator's other site: 2 `connect`, 1 `read`, 1 alert). Every site of
 * the server sees them, and the operator's own `systemctl reload caddy` does the same. Only a
 * step that reloads Caddy may show them. A refused connection or a timeout is never one:
 * nothing was listening, or nothing answered.
 */
export function isResetBeforeRequest(s: Sample): boolean {
    // A retried request was sent once already (on the stale connection): never one, whatever its retry met.
    if (s.retried === true) return false;
    return s.status === 0 && s.beforeRequest === true && (s.code === "ECONNRESET" || TLS_ALERT_INTERNAL_ERROR.test(s.error ?? ""));
}

/** A report's failures split into resets before any request was sent (isResetBeforeRequest) and all others. */
export function splitReloadResets(report: LoadReport): { resetsBeforeRequest: Sample[]; otherFailures: Sample[] } {
    const resetsBeforeRequest = report.failed.filter(isResetBeforeRequest);
    return { resetsBeforeRequest, otherFailures: report.failed.filter((s) => !resetsBeforeRequest.includes(s)) };
}

/** How long each client of a traffic watcher waits between its requests. */
export const WATCH_PAUSE_MS = 10;

/**
 * A traffic watcher for the e2e suites: two clients (one keeping its connection alive, one not),
 * each WATCH_PAUSE_MS between requests, about 150 a second in all. Any gap in service fails
 * some of them (a gap of the slow tag's start, 12 s, fails hundreds), and the two cores stay
 * free for the update under test: clients back to back took most of both and made each update
 * slower (e2e 13 took 851 s with them, 702 s with this). The release under load (e2e 02), the
 * canary's shares (e2e 11) and `npm run bench` keep clients back to back.
 */
export function watchTraffic(url: string, tls?: SandboxTlsSite, maxSeconds = 900): LoadLoop {
    return new LoadLoop(url, 2, maxSeconds, 2_000_000, WATCH_PAUSE_MS, tls);
}
