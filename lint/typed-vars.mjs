// The inventory's vars are read with the types their declarations give them (src/vars.ts):
// outside the inventory module, no var is read by a computed key (`.vars[name]`) or cast to
// a type of the reader's choosing (`vars.x as T`). A var a runbook needs is declared, not guessed.

/** The files that may: they declare the vars and read the inventory. */
export const INVENTORY_MODULE = ['src/inventory.ts', 'src/vars.ts'];

const MESSAGE =
  'read inventory vars by name with their declared types (src/vars.ts; requiredVar in activities/env-vars.ts), ' +
  'not by a computed key or a cast';

/** A member `vars.x` or `<object>.vars.x`. */
const VAR = ["[object.name='vars']", "[object.property.name='vars']"];
const computed = ["[object.name='vars']", "[object.type='MemberExpression'][object.property.name='vars']"];

/** no-restricted-syntax entries: a selector and the message each. */
export const TYPED_VARS = [
  ...computed.map((o) => `MemberExpression[computed=true]${o}`),
  ...['TSAsExpression', 'TSTypeAssertion'].flatMap((cast) =>
    VAR.flatMap((v) => [
      `${cast} > MemberExpression.expression${v}`,
      // (vars.x ?? fallback) as T
      `${cast} > LogicalExpression.expression > MemberExpression.left${v}`,
    ]),
  ),
].map((selector) => ({ selector, message: MESSAGE }));
