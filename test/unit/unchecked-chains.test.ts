import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { uncheckedChains } from "./unchecked-chains";

/**
 * No silent writes: every rendered host script (the golden files are their whole text, and
 * the golden test keeps them equal to the renderers) checks each write. An `a && b` list
 * under `set -e` goes on when `a` fails, so it must be a condition, end in `|| fail ...`, or
 * start with tests only.
 */
describe("unit: no unchecked && list in a rendered script", () => {
    const goldenDir = path.join(__dirname, "golden");
    const scripts = fs.readdirSync(goldenDir).filter((f) => f.endsWith(".sh"));

    it("finds the golden scripts", () => {
        expect(scripts.length).to.be.greaterThan(25);
    });

    for (const file of scripts) {
        it(`${file} has none`, () => {
            expect(uncheckedChains(fs.readFileSync(path.join(goldenDir, file), "utf8"))).to.deep.equal([]);
        });
    }

    describe("the checker", () => {
        const flagged = [
            `mkdir -p '/opt/l9/shared' && chmod 700 '/opt/l9/shared'`,
            `tmp='/x/m'.$$ && date -u >"$tmp" && chmod 644 "$tmp" && mv -f "$tmp" '/x/m'`,
            `if true; then a && b; fi`,
            `f() {\n  cat >"$tmp" && mv "$tmp" "$f"\n}`,
            `x=1; cp a b && rm a; echo done`,
            `out=$(mktemp) && trap 'rm -f "$out"' EXIT`,
            `while read -r l; do mkdir "$l" && touch "$l/x"; done <list`,
            `[ -d x ] && mkdir y && chmod 700 y`,
            `case "$x" in a) mkdir y && chmod 700 y ;; esac`,
            `( while read -r kv; do case "$kv" in [A-Z]*=*) export "$kv" ;; esac; done <f; cp a b && rm a )`,
        ];
        for (const bad of flagged) {
            it(`flags ${JSON.stringify(bad)}`, () => expect(uncheckedChains(bad)).to.have.length(1));
        }
        const accepted = [
            `{ mkdir -p x && chmod 700 x; } || fail "cannot create x"`,
            `if [ -n "$a" ] && grep -q b c; then echo ok; fi`,
            `while kill -0 "$p" && sleep 1; do :; done`,
            `[ "$routing" = green ] && [ "$upstream" = 'a && b' ] || fail "no"`,
            `[ -f "$pid" ] && kill "$(cat "$pid")"`,
            `echo "a && b"; echo 'c && d'`,
            `x=$(curl -fsS a || true) # a && b in a comment`,
            `case "$x" in "{"*) a ;; *) b && c || d ;; esac`,
            `cmd >>log 2>&1 && echo clean || echo drift`,
        ];
        for (const good of accepted) {
            it(`accepts ${JSON.stringify(good)}`, () => expect(uncheckedChains(good)).to.deep.equal([]));
        }
    });
});
