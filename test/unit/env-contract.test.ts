import { expect } from "chai";
import { checkEnvAgainstExample, parseEnvExample, renderEnvFileContent } from "../../config/env-contract";

describe("unit: env contract (.env.example)", () => {
    const example = [
        "# keys of the app",
        "APP_SECRET=",
        "export DATABASE_URL=postgres://",
        "",
        "# optional",
        "LOG_LEVEL=info",
        "SENTRY_DSN= # optional",
        "not a key line",
    ].join("\n");

    it("parses keys, export prefixes and optional markers", () => {
        expect(parseEnvExample(example)).to.deep.equal([
            { key: "APP_SECRET", optional: false },
            { key: "DATABASE_URL", optional: false },
            { key: "LOG_LEVEL", optional: true },
            { key: "SENTRY_DSN", optional: true },
        ]);
    });

    it("accepts an env with every required key set", () => {
        expect(checkEnvAgainstExample(parseEnvExample(example), { APP_SECRET: "x", DATABASE_URL: "y" }, "v1")).to.deep.equal([]);
    });

    it("names missing and empty required keys, with the tag", () => {
        const problems = checkEnvAgainstExample(parseEnvExample(example), { APP_SECRET: " ", LOG_LEVEL: "" }, "v1.2.3-l9");
        expect(problems).to.deep.equal([
            "env key APP_SECRET is required by .env.example at v1.2.3-l9 but empty",
            "env key DATABASE_URL is declared by .env.example at v1.2.3-l9 but not set",
        ]);
    });

    it("renders the env file sorted, one KEY=VALUE per line", () => {
        expect(renderEnvFileContent({ B: "2", A: "1" })).to.equal("A=1\nB=2\n");
    });
});
