import { MemoryStore } from "../../lib/store/memory.ts";
import { storeSuite } from "./suite.ts";

storeSuite("memory", () => new MemoryStore(), { metadata: true, bigListing: true, chunked: true });
