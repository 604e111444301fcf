import { Greeter } from "../gen/greeter/v1/greeter_pb.ts";
import { defineService, MicroError } from "../runtime/mod.ts";

/**
 * The quick-start service. `sayGoodbye` is left out on purpose: callers get "unimplemented".
 */
export default defineService(Greeter, { version: "1.0.0", metadata: { owner: "quick-start" } }, {
  async sayHello(request) {
    if (request.name.trim() === "") throw new MicroError("invalid_argument", "name must not be empty", { detail: "name" });
    return { message: `Hello ${request.name}` };
  },
});
