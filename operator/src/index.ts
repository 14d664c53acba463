export * from "./crds.ts";
export { type Operator, type OperatorOptions, startOperator } from "./operator.ts";
