import { expect } from "chai";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as tls from "tls";
import { isResetBeforeRequest, LoadLoop, LoadReport, Sample, splitReloadResets } from "../support/load-loop";

/** Runs a loop of two clients until it has seen `count` requests. */
async function requests(loop: LoadLoop, count: number): Promise<LoadReport> {
    while (loop.sampleCount() < count) await new Promise((resolve) => setTimeout(resolve, 20));
    return loop.stop();
}

/** A loopback server; its port. */
function listen(server: net.Server): Promise<number> {
    return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port)));
}

/** Every request failed, each after its connection could carry it: none is a reset before the request. */
function expectEveryFailureSent(report: LoadReport): void {
    expect(report.failed.length).to.equal(report.total);
    expect(
        report.failed.every((s) => s.beforeRequest === false),
        JSON.stringify(report.failed),
    ).to.equal(true);
    expect(splitReloadResets(report).resetsBeforeRequest).to.deep.equal([]);
}

/**
 * The load loop's judge of a Caddy reload's resets (test/support/load-loop.ts): the host and e2e
 * suites allow a few of them and fail on any other failure, so a judge that let a request
 * through that had been sent would hide a lost request.
 */
describe("unit: the load loop's resets before a request was sent", function () {
    this.timeout(30_000);
    let dir: string;
    let key: string;
    let cert: string;
    const servers: net.Server[] = [];

    before(function () {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "l9-load-loop-"));
        execFileSync(
            "openssl",
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=example.com", "-addext", "subjectAltName=DNS:example.com"].concat([
                "-keyout",
                path.join(dir, "key.pem"),
                "-out",
                path.join(dir, "cert.pem"),
            ]),
            { stdio: "ignore" },
        );
        key = fs.readFileSync(path.join(dir, "key.pem"), "utf8");
        cert = fs.readFileSync(path.join(dir, "cert.pem"), "utf8");
    });
    after(function () {
        for (const s of servers) s.close();
        fs.rmSync(dir, { recursive: true, force: true });
    });
    const server = (onConnection: (socket: net.Socket) => void) => {
        const s = net.createServer(onConnection);
        servers.push(s);
        return listen(s);
    };
    const tlsLoop = (port: number) => new LoadLoop(`https://example.com:${port}/version`, 2, 10, 100, 0, { address: "127.0.0.1", ca: cert });

    it("a TLS connection reset before its handshake is one (Caddy's old listener closing its accept queue)", async function () {
        const port = await server((socket) => socket.resetAndDestroy());
        const report = await requests(tlsLoop(port), 6);
        expect(report.failed.length).to.equal(report.total);
        expect(
            report.failed.every((s) => s.beforeRequest === true && s.code === "ECONNRESET"),
            JSON.stringify(report.failed),
        ).to.equal(true);
        expect(splitReloadResets(report).otherFailures).to.deep.equal([]);
    });

    it("a TLS connection reset after its handshake, once the request came, is not: the request was sent", async function () {
        const port = await server((socket) => {
            const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: tls.createSecureContext({ key, cert }) });
            secure.once("data", () => socket.resetAndDestroy());
        });
        expectEveryFailureSent(await requests(tlsLoop(port), 6));
    });

    it("a plain HTTP connection reset once the request came is not", async function () {
        const port = await server((socket) => socket.once("data", () => socket.resetAndDestroy()));
        expectEveryFailureSent(await requests(new LoadLoop(`http://127.0.0.1:${port}/version`, 2, 10, 100), 6));
    });

    it("a request retried after a stale keep-alive connection is not, however its retry failed: it was sent once", async function () {
        let connections = 0;
        const port = await server((socket) => {
            connections++;
            // Every connection after the first is reset before its handshake, as the reload's are.
            if (connections > 1) return socket.resetAndDestroy();
            const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: tls.createSecureContext({ key, cert }) });
            let requests = 0;
            secure.on("data", () => {
                requests++;
                if (requests === 1) secure.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
                else socket.resetAndDestroy();
            });
        });
        // One client, keeping its connection alive: the second request goes on the first's connection.
        const report = await requests(new LoadLoop(`https://example.com:${port}/version`, 1, 10, 2, 0, { address: "127.0.0.1", ca: cert }), 2);
        expect(report.samples.map((s) => `${s.status} ${s.retried === true} ${s.beforeRequest}`)).to.deep.equal(["200 false undefined", "0 true true"]);
        expect(splitReloadResets(report).resetsBeforeRequest).to.deep.equal([]);
    });

    it("a refused connection is not (nothing listened): an outage, whatever stage it failed at", async function () {
        const port = await server(() => undefined);
        await new Promise((resolve) => servers.pop()!.close(resolve));
        const report = await requests(tlsLoop(port), 4);
        expect(report.failed.map((s) => s.code)).to.include("ECONNREFUSED");
        expect(splitReloadResets(report).resetsBeforeRequest).to.deep.equal([]);
    });

    it("judges a sample by how far its connection got and why it failed, not by the error's wording alone", function () {
        const failed = (s: Partial<Sample>): Sample => ({ t: 0, status: 0, ...s });
        const cases: Array<[Sample, boolean]> = [
            [failed({ beforeRequest: true, code: "ECONNRESET", error: "Error: connect ECONNRESET 10.219.0.16:443" }), true],
            [failed({ beforeRequest: true, code: "ECONNRESET", error: "Error: read ECONNRESET" }), true],
            [failed({ beforeRequest: true, code: "EPROTO", error: "Error: write EPROTO ...:tlsv1 alert internal error:..." }), true],
            [failed({ beforeRequest: false, code: "ECONNRESET", error: "Error: read ECONNRESET" }), false],
            [failed({ beforeRequest: false, code: "ECONNRESET", error: "Error: socket hang up" }), false],
            [failed({ beforeRequest: true, code: "EPROTO", error: "Error: write EPROTO ...:wrong version number:..." }), false],
            [failed({ beforeRequest: true, code: "ECONNREFUSED", error: "Error: connect ECONNREFUSED 10.219.0.16:443" }), false],
            [failed({ beforeRequest: true, error: "Error: timeout" }), false],
            [failed({ code: "ECONNRESET", error: "Error: connect ECONNRESET 10.219.0.16:443" }), false],
            [failed({ beforeRequest: true, code: "ECONNRESET", error: "Error: connect ECONNRESET 10.219.0.16:443", retried: true }), false],
            [{ t: 0, status: 502 }, false],
        ];
        expect(cases.map(([s]) => isResetBeforeRequest(s))).to.deep.equal(cases.map(([, judged]) => judged));
    });
});
