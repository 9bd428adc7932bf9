//! Reading live state for every declared resource, concurrently. Never writes.

use futures::{StreamExt, TryStreamExt, stream};

use crate::aws::{Aws, AwsError};
use crate::events::{EventSink, Reporter};
use crate::plan::LiveState;
use crate::resources::dynamodb_table::aws::{self as table_aws, TableApi};
use crate::stack::Stack;

/// Reads at most this many resources at once.
const PARALLEL_READS: usize = 16;

/// Reads the live state of every resource `stack` declares.
pub async fn refresh(
    aws: &Aws,
    stack: &Stack,
    sink: &dyn EventSink,
) -> Result<LiveState, AwsError> {
    let tables = stream::iter(&stack.tables)
        .map(|t| async move {
            let api = TableApi {
                client: &aws.dynamodb,
                wait: &aws.wait,
                reporter: Reporter {
                    address: &t.address,
                    sink,
                },
            };
            Ok::<_, AwsError>((t.address.clone(), table_aws::read(api, &t.spec.name).await?))
        })
        .buffer_unordered(PARALLEL_READS)
        .try_collect()
        .await?;
    Ok(LiveState { tables })
}
