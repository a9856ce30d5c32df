import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CADDYFILE_IMPORT_AWK, caddyfileSnippetPath, caddyfileToken, renderCaddyfileSnippet } from "../../host-scripts/caddyfile-site";
import { caddyServerArgs, greenMarkerFile, maintenanceMarkerFile, slotUpstreams } from "../../host-scripts/routing";
import { SAMPLE_ROUTING } from "./fixtures";

const LEGACY_CADDYFILE = fs.readFileSync(path.join(__dirname, "../fixtures/legacy-host/Caddyfile"), "utf8");
const SNIPPET = caddyfileSnippetPath("/etc/caddy/Caddyfile", "l9");

/** The one edit (the awk program the host runs, with the host's awk): its exit status and output. */
function importIntoSite(caddyfile: string, host = "api.example.com", dial = "127.0.0.1:8000"): { code: number; out: string } {
    const r = spawnSync("awk", ["-v", `host=${host}`, "-v", `dial=${dial}`, "-v", `snippet=${SNIPPET}`, CADDYFILE_IMPORT_AWK], {
        input: caddyfile,
        encoding: "utf8",
    });
    return { code: r.status ?? -1, out: r.stdout };
}

describe("unit: the one edit of the operator's Caddyfile (Caddyfile mode)", function () {
    it("puts the snippet's import where the API's site proxied, and changes no other line", function () {
        const r = importIntoSite(LEGACY_CADDYFILE);
        expect(r.code).to.equal(0);
        const before = LEGACY_CADDYFILE.split("\n");
        const after = r.out.split("\n");
        expect(after).to.have.length(before.length);
        const changed = before.flatMap((line, i) => (line === after[i] ? [] : [[line, after[i]]]));
        expect(changed).to.deep.equal([["\treverse_proxy 127.0.0.1:8000", `\timport ${SNIPPET}`]]);
        expect(SNIPPET).to.equal("/etc/caddy/l9-deploy/l9.caddy");
    });

    it("finds nothing to do once the site imports the snippet (exit 3)", function () {
        const once = importIntoSite(LEGACY_CADDYFILE);
        expect(importIntoSite(once.out)).to.deep.equal({ code: 3, out: once.out });
    });

    it("finds the site by any of its addresses, with a scheme or a port", function () {
        for (const address of ["https://api.example.com", "api.example.com:443", "www2.example.com, api.example.com", "api.example.com,www2.example.com"]) {
            const file = `${address} {\n  encode gzip\n  reverse_proxy 127.0.0.1:8000\n}\n`;
            const r = importIntoSite(file);
            expect(r.code, address).to.equal(0);
            expect(r.out).to.equal(`${address} {\n  encode gzip\n  import ${SNIPPET}\n}\n`);
        }
    });

    it("counts no brace in a quoted string or a comment", function () {
        const file = [
            "www.example.com {",
            '\trespond "}}" 200 # a { here',
            "}",
            "# api.example.com { commented out",
            "api.example.com {",
            "\treverse_proxy 127.0.0.1:8000",
            "}",
            "",
        ].join("\n");
        const r = importIntoSite(file);
        expect(r.code).to.equal(0);
        expect(r.out).to.include(`\timport ${SNIPPET}\n}`);
    });

    it("refuses a Caddyfile with no site of the host, or two (exit 4)", function () {
        expect(importIntoSite("www.example.com {\n\treverse_proxy 127.0.0.1:8000\n}\n").code).to.equal(4);
        expect(
            importIntoSite("api.example.com {\n\treverse_proxy 127.0.0.1:8000\n}\napi.example.com:8443 {\n\treverse_proxy 127.0.0.1:8000\n}\n").code,
        ).to.equal(4);
        // A host that only begins like the API's is another site.
        expect(importIntoSite("api.example.com.evil {\n\treverse_proxy 127.0.0.1:8000\n}\n").code).to.equal(4);
    });

    it("refuses a site that does not proxy with exactly one plain line to the dial (exit 5)", function () {
        const site = (body: string) => `api.example.com {\n${body}\n}\n`;
        for (const body of [
            "\treverse_proxy 127.0.0.1:8001",
            "\treverse_proxy 127.0.0.1:8000 {\n\t\tlb_try_duration 5s\n\t}",
            "\treverse_proxy 127.0.0.1:8000\n\treverse_proxy /admin* 127.0.0.1:9000",
            "\thandle {\n\t\treverse_proxy 127.0.0.1:8000\n\t}",
            `\timport ${SNIPPET}\n\treverse_proxy 127.0.0.1:8000`,
        ]) {
            expect(importIntoSite(site(body)).code, body).to.equal(5);
        }
    });

    it("leaves a Caddyfile that Caddy still adapts, with the other site's routes as they were", function () {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "l9-caddyfile-"));
        try {
            const snippet = path.join(dir, "l9.caddy");
            fs.writeFileSync(snippet, 'respond "from the snippet" 200\n');
            const adapt = (file: string) => {
                fs.writeFileSync(path.join(dir, "Caddyfile"), file);
                const r = spawnSync("caddy", ["adapt", "--config", path.join(dir, "Caddyfile"), "--adapter", "caddyfile"], { encoding: "utf8" });
                expect(r.status, r.stderr).to.equal(0);
                return JSON.parse(r.stdout) as { apps: { http: { servers: { srv0: { routes: Array<{ match: Array<{ host: string[] }> }> } } } } };
            };
            const before = adapt(LEGACY_CADDYFILE).apps.http.servers.srv0.routes;
            const edited = importIntoSite(LEGACY_CADDYFILE).out.replace(SNIPPET, snippet);
            const after = adapt(edited).apps.http.servers.srv0.routes;
            const site = (routes: typeof before, host: string) => routes.find((r) => r.match[0].host.includes(host));
            expect(site(after, "www.example.com")).to.deep.equal(site(before, "www.example.com"));
            expect(JSON.stringify(site(after, "api.example.com")))
                .to.include("from the snippet")
                .and.not.include("127.0.0.1:8000");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("unit: l9-deploy's routes as a Caddyfile snippet", function () {
    const args = caddyServerArgs(SAMPLE_ROUTING);

    it("quotes every value as one Caddyfile token, and refuses what quoting cannot make one", function () {
        expect(caddyfileToken("/var/lib/l9-deploy/l9/caddy")).to.equal('"/var/lib/l9-deploy/l9/caddy"');
        expect(caddyfileToken(8001)).to.equal('"8001"');
        for (const bad of ['a"b', "a\\b", "{env.X}", "a}", "a\nb", "a\rb", ""]) expect(() => caddyfileToken(bad), bad).to.throw(/cannot be a Caddyfile token/);
    });

    it("refuses a canary (its access log would not survive a reload of the Caddyfile)", function () {
        expect(() => renderCaddyfileSnippet({ ...args, canary: { percents: [10], sticky: false } })).to.throw(/canary is not available in Caddyfile mode/);
    });

    it("hashes what it routes: another port is another hash", function () {
        const a = renderCaddyfileSnippet(args);
        expect(a.text).to.include(`vars l9_config "${a.configHash}"`);
        expect(renderCaddyfileSnippet({ ...args, greenPort: 8003 }).configHash).to.not.equal(a.configHash);
        expect(renderCaddyfileSnippet(args)).to.deep.equal(a);
    });

    it("adapts, in the API's site, to maintenance, then green by its marker, then blue, each slot named by vars", function () {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "l9-snippet-"));
        try {
            fs.writeFileSync(path.join(dir, "l9.caddy"), renderCaddyfileSnippet(args).text);
            fs.writeFileSync(path.join(dir, "Caddyfile"), `api.example.com {\n\timport ${path.join(dir, "l9.caddy")}\n}\n`);
            const r = spawnSync("caddy", ["adapt", "--config", path.join(dir, "Caddyfile"), "--adapter", "caddyfile"], { encoding: "utf8" });
            expect(r.status, r.stderr).to.equal(0);
            const text = r.stdout;
            const order = [maintenanceMarkerFile(args.markerDir, "l9"), greenMarkerFile(args.markerDir, "l9"), '"l9_upstream":"l9-blue"'].map((t) =>
                text.indexOf(t),
            );
            expect(
                order.every((i) => i > 0),
                text,
            ).to.equal(true);
            expect([...order].sort((x, y) => x - y)).to.deep.equal(order);
            for (const color of ["blue", "green"] as const) {
                const upstreams = JSON.stringify(slotUpstreams(args, color));
                expect(text).to.include(
                    `"l9_upstream":"l9-${color}"},{"handler":"reverse_proxy",` +
                        `"load_balancing":{"try_duration":5000000000,"try_interval":100000000},"upstreams":${upstreams}}`,
                );
            }
            expect(text).to.include('"not":[{"path":["/health"]}]');
            expect(text).to.include('"status_code":503');
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
