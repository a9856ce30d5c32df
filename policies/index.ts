import { PolicyPack } from "@pulumi/policy";
import { resourcePolicies, stackPolicies } from "./rules";

new PolicyPack("l9-guardrails", { policies: [...resourcePolicies, ...stackPolicies] });
