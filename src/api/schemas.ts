/** TypeBox schemas shared by the routes. */
import { Type } from "typebox";

export const ClusterUuid = Type.String({
  maxLength: 64,
  description: "The cluster; may be left out when only one cluster exists",
});

export const ClusterQuery = Type.Object(
  { cluster_uuid: Type.Optional(ClusterUuid) },
  { additionalProperties: false },
);

/** The envelope around any data, for documentation. */
export function envelope(
  data: ReturnType<typeof Type.Object> | ReturnType<typeof Type.Any>,
) {
  return Type.Object({
    scode: Type.Integer({ description: "0 on success, else an error code" }),
    desc: Type.String({ description: "Error name, empty on success" }),
    message: Type.String(),
    message_cn: Type.String(),
    stack: Type.Union([Type.String(), Type.Null()]),
    data,
  });
}
