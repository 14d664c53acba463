#!/usr/bin/env node
// Entry point: `npx carrier2 -c FILE`. The TypeScript sources run directly on Node's type stripping.
import "../src/cli/main.ts";
