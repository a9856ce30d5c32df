import * as http from "http";
import { AddressInfo } from "net";

/** One POST the receiver got: its path and its raw body (parse it to prove it is JSON). */
export interface ReceivedWebhook {
    path: string;
    raw: string;
}

/** A webhook receiver on loopback that records every request; `/fail` answers 500. */
export class WebhookReceiver {
    readonly received: ReceivedWebhook[] = [];
    private readonly server = http.createServer((req, res) => {
        let raw = "";
        req.on("data", (d) => (raw += d));
        req.on("end", () => {
            this.received.push({ path: req.url ?? "", raw });
            res.writeHead(req.url === "/fail" ? 500 : 200, { "Content-Type": "application/json" });
            res.end(req.url?.includes("sendMessage") ? '{"ok":true}' : "ok");
        });
    });

    /** Listens on a free loopback port; returns it. */
    async start(): Promise<number> {
        await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
        return (this.server.address() as AddressInfo).port;
    }

    stop(): void {
        this.server.close();
    }

    /** Every message with its body parsed (`{unparsable}` when it is not JSON). */
    messages(): Array<{ path: string; body: Record<string, unknown> }> {
        return this.received.map((m) => {
            try {
                return { path: m.path, body: JSON.parse(m.raw) as Record<string, unknown> };
            } catch {
                return { path: m.path, body: { unparsable: m.raw } };
            }
        });
    }

    /** Messages of one event (the json format's `event`, the telegram text's ": <event>"). */
    events(event: string): Array<{ path: string; body: Record<string, unknown> }> {
        return this.messages().filter((m) => m.body.event === event || String(m.body.text ?? "").includes(`: ${event}`));
    }
}
