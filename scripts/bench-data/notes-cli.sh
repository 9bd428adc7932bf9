#!/usr/bin/env bash
# The seed stack made the way the bootcamp notes make it: the AWS CLI, one command per
# step. Used by scripts/bench as the baseline. Needs AWS (ENDPOINT) and `aws` on PATH.
# It waits as a student does, step by step, so it survives AWS's real waits (and the
# bench's timing model of them): `aws dynamodb wait table-exists` (which polls every 20 s),
# create-function run again until IAM has propagated the new role, and
# `aws lambda wait function-active-v2`.
set -euo pipefail
e=(--endpoint-url "$ENDPOINT" --region ca-central-1 --output text)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

aws dynamodb create-table "${e[@]}" --table-name cruddur-messages \
  --attribute-definitions AttributeName=pk,AttributeType=S AttributeName=sk,AttributeType=S AttributeName=message_group_uuid,AttributeType=S \
  --key-schema AttributeName=pk,KeyType=HASH AttributeName=sk,KeyType=RANGE \
  --provisioned-throughput ReadCapacityUnits=5,WriteCapacityUnits=5 \
  --global-secondary-indexes 'IndexName=message-group-sk-index,KeySchema=[{AttributeName=message_group_uuid,KeyType=HASH},{AttributeName=sk,KeyType=RANGE}],Projection={ProjectionType=ALL},ProvisionedThroughput={ReadCapacityUnits=5,WriteCapacityUnits=5}' \
  --stream-specification StreamEnabled=true,StreamViewType=NEW_IMAGE >/dev/null
aws dynamodb wait table-exists "${e[@]}" --table-name cruddur-messages

cat >"$work/trust.json" <<'JSON'
{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}
JSON
cat >"$work/policy.json" <<'JSON'
{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["dynamodb:PutItem","dynamodb:DeleteItem","dynamodb:Query"],"Resource":["arn:aws:dynamodb:ca-central-1:123456789012:table/cruddur-messages","arn:aws:dynamodb:ca-central-1:123456789012:table/cruddur-messages/index/message-group-sk-index"]}]}
JSON
role_arn=$(aws iam create-role "${e[@]}" --role-name cruddur-messaging-stream-role --assume-role-policy-document "file://$work/trust.json" --query Role.Arn)
aws iam put-role-policy "${e[@]}" --role-name cruddur-messaging-stream-role --policy-name cruddur-messaging-stream-dynamodb --policy-document "file://$work/policy.json"
aws iam attach-role-policy "${e[@]}" --role-name cruddur-messaging-stream-role --policy-arn arn:aws:iam::aws:policy/AWSLambdaInvocation-DynamoDB
aws iam attach-role-policy "${e[@]}" --role-name cruddur-messaging-stream-role --policy-arn arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole

(cd "$root/lambda-artifacts/cruddur-messaging-stream" && python3 -m zipfile -c "$work/fn.zip" lambda_function.py)
# IAM takes seconds to propagate a new role, and until it has, Lambda refuses it: "The role
# defined for the function cannot be assumed by Lambda." The notes' students run the command
# again by hand until it goes through; this loop does the same, once a second, for up to two
# minutes, and stops at any other error.
for attempt in $(seq 1 120); do
  if err=$(aws lambda create-function "${e[@]}" --function-name cruddur-messaging-stream --runtime python3.12 \
    --handler lambda_function.lambda_handler --role "$role_arn" --zip-file "fileb://$work/fn.zip" \
    --environment 'Variables={TABLE_NAME=cruddur-messages,INDEX_NAME=message-group-sk-index}' 2>&1 >/dev/null); then
    break
  fi
  case $err in
    *"cannot be assumed"*)
      if [ "$attempt" -eq 120 ]; then echo "$err" >&2; exit 1; fi
      sleep 1 ;;
    *) echo "$err" >&2; exit 1 ;;
  esac
done
aws lambda wait function-active-v2 "${e[@]}" --function-name cruddur-messaging-stream

stream=$(aws dynamodb describe-table "${e[@]}" --table-name cruddur-messages --query Table.LatestStreamArn)
aws lambda create-event-source-mapping "${e[@]}" --function-name cruddur-messaging-stream \
  --event-source-arn "$stream" --batch-size 1 --starting-position LATEST >/dev/null

vpc=$(aws ec2 describe-vpcs "${e[@]}" --filters Name=is-default,Values=true --query 'Vpcs[0].VpcId')
rt=$(aws ec2 describe-route-tables "${e[@]}" --filters "Name=vpc-id,Values=$vpc" Name=association.main,Values=true --query 'RouteTables[0].RouteTableId')
aws ec2 create-vpc-endpoint "${e[@]}" --vpc-id "$vpc" --service-name com.amazonaws.ca-central-1.dynamodb \
  --route-table-ids "$rt" --tag-specifications 'ResourceType=vpc-endpoint,Tags=[{Key=Name,Value=cruddur-ddb}]' >/dev/null
