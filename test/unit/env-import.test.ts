import { expect } from "chai";
import { parseEnvFileForImport } from "../../config/env-import";
import { describeEnvChange } from "../../tools/env-import-report";

describe("unit: env import (the old runbooks' .env, as compose v1 read it)", () => {
    // What python-dotenv 0.21 (Debian's, which docker-compose 1.29 reads env_file with) gave
    // for these lines, run once by hand: dotenv_values(path, interpolate=True).
    const file = [
        "# the old runbooks' env",
        "APP_SECRET=s3cr3t value  # trailing comment",
        'export DATABASE_URL="postgres://l9:pa#ss@127.0.0.1/l9"',
        "SQ='a \\' b \\\\ c $HOME'",
        'DQ="tab\\there \\"q\\" back\\\\slash"',
        "HASH=abc#def",
        "EMPTY=",
        "SPACED =  padded  \r",
        "DOLLAR=pa$word",
        "REPEATED=one",
        "REPEATED=two",
        "",
    ].join("\n");

    it("reads values as python-dotenv does: export, quotes and their escapes, inline comments, CRLF", () => {
        const r = parseEnvFileForImport(file);
        expect(r.problems).to.deep.equal([]);
        expect(r.env).to.deep.equal({
            APP_SECRET: "s3cr3t value",
            DATABASE_URL: "postgres://l9:pa#ss@127.0.0.1/l9",
            SQ: "a ' b \\ c $HOME",
            DQ: 'tab\there "q" back\\slash',
            HASH: "abc#def",
            EMPTY: "",
            SPACED: "padded",
            DOLLAR: "pa$word",
            REPEATED: "two",
        });
        expect(r.repeated).to.deep.equal(["REPEATED"]);
    });

    it("refuses what the container may have seen differently, naming line and key, never the value", () => {
        const r = parseEnvFileForImport(
            [
                "OK=1",
                "FROM_SHELL",
                "REF=${HOME}/x-secret-1",
                "QUOTED_REF='${HOME}'",
                "lower=x-secret-2",
                "SINGLE='it''s-secret-3'",
                'OPEN="x-secret-4',
                'still open"',
                'NEWLINE="a\\nb-secret-5"',
            ].join("\n"),
        );
        expect(r.problems.map((p) => p.split(":")[0] + ":" + p.split(":")[1].split(" ")[1])).to.deep.equal([
            "line 2:FROM_SHELL",
            "line 3:REF",
            "line 4:QUOTED_REF",
            "line 5:lower",
            "line 6:SINGLE",
            "line 7:OPEN",
            "line 8:not",
            "line 9:NEWLINE",
        ]);
        expect(r.problems.join("\n")).to.not.match(/secret-\d/);
        for (const p of r.problems) expect(p).to.match(/Fix: /);
        expect(r.env).to.deep.equal({ OK: "1" });
    });

    it("prints key names only, by what happened to them", () => {
        const text = describeEnvChange(
            "prod",
            "203.0.113.10:/opt/l9/.env",
            { B: "new-secret", A: "same-secret", C: "changed-secret" },
            {
                A: "same-secret",
                C: "old-secret",
                D: "gone-secret",
            },
        );
        expect(text).to.not.match(/secret(?!\s+env)/);
        expect(text).to.contain("stored 3 keys from 203.0.113.10:/opt/l9/.env as the secret env of stack prod");
        expect(text).to.contain("  new: B\n  changed: C\n  unchanged: A\n  no longer set: D\n");
    });
});
