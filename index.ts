/**
 * l9-deploy: the production runtime of the L9 API on one VPS, or rolled over several. Set
 * `releaseTag`, run `pulumi up`, and each host converges: checkout, image, blue/green slots,
 * gate, switch; host after host, as `rollout` says.
 *
 * Plan first, then declare: every host is checked and its release planned from plain values
 * (plan/rollout.ts) before any release resource registers; the release is then declared from
 * that plan (components/rollout.ts). Only each host's connections register before the plan,
 * so that their plugins start while the hosts are checked.
 */
import { convergeRollout, declareRuntimes, stackOutputs } from "./components/rollout";
import { loadConfig } from "./config/load";
import { planRollout, prepareHostAccesses } from "./plan/rollout";

export = async () => {
    const config = loadConfig();
    const accesses = prepareHostAccesses(config);
    const runtimes = declareRuntimes(config, accesses);
    const rollout = await planRollout(config, accesses);
    const outputs = await convergeRollout(config, rollout, runtimes);
    return stackOutputs(config, rollout, outputs);
};
